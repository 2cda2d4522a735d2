// StatsD: configuration and checks of the sink (sink.ts sends, lines.ts encodes).
import { SinkPlugin } from '../plugin';
import { TAG_STYLES } from './lines';
import { StatsdConfig, StatsdProtocol } from './settings';



export type { StatsdConfig, StatsdProtocol };

export const statsd: SinkPlugin<StatsdConfig> = {
  name: 'statsd',
  config: {
    path: 'sinks.statsd',
    schema: {
      enabled: { doc: 'Send to a StatsD server.', format: Boolean, default: false, env: 'SOCKPULSE_STATSD_ENABLED' },
      protocol: { doc: 'udp, tcp or uds (unix datagram socket at path).', format: ['udp', 'tcp', 'uds'], default: 'udp', env: 'SOCKPULSE_STATSD_PROTOCOL' },
      host: { doc: 'StatsD host (udp, tcp).', format: String, default: '127.0.0.1', env: 'SOCKPULSE_STATSD_HOST' },
      port: { doc: 'StatsD port (udp, tcp).', format: 'port', default: 8125, env: 'SOCKPULSE_STATSD_PORT' },
      path: { doc: 'Unix socket path (uds).', format: String, default: '', env: 'SOCKPULSE_STATSD_PATH' },
      prefix: { doc: 'Metric name prefix.', format: String, default: 'sockpulse', env: 'SOCKPULSE_STATSD_PREFIX' },
      tag_style: {
        doc: 'dogstatsd (name:value|g|#k:v), telegraf (name,k=v:value|g) or none (labels folded into the dotted name: name.k.v:value|g).',
        format: ['dogstatsd', 'telegraf', 'none'],
        default: 'dogstatsd',
        env: 'SOCKPULSE_STATSD_TAG_STYLE',
      },
    },
    resolve(raw) {
      const r = raw as { protocol: string; host: string; port: number; path: string; prefix: string; tag_style: string };
      const protocol = oneOf<StatsdProtocol>('protocol', r.protocol, ['udp', 'tcp', 'uds']);
      const tagStyle = oneOf('tag_style', r.tag_style, TAG_STYLES);
      if (protocol === 'uds' && !r.path) throw new Error('sinks.statsd.path: required when sinks.statsd.protocol is uds');
      if (protocol !== 'uds' && !(Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535)) {
        throw new Error(`sinks.statsd.port: ${r.port} is not a port between 1 and 65535`);
      }
      return { protocol, host: r.host, port: r.port, path: r.path, prefix: r.prefix, tagStyle };
    },
  },
  create(cfg, ctx) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { StatsdSink } = require('./sink') as typeof import('./sink');
    return new StatsdSink(cfg, ctx);
  },
};

function oneOf<T extends string>(key: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`sinks.statsd.${key}: "${v}" is not one of ${allowed.join(', ')}`);
  return v as T;
}
