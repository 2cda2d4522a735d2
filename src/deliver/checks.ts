// Each sink's configuration checks, in one place: its constructor runs them, and so does the
// configuration load (config/schema.ts) for every enabled sink, so a bad value stops the agent
// with exit code 2, or is refused by a SIGHUP reload, before anything is built. A disabled sink's
// settings are not checked beyond their formats (a placeholder URL may wait there). Pure: no
// connection, no backend library loaded. Errors name the key; a URL in them is redacted.
import type { Settings } from '../config/schema';
import { httpUrl } from '../core/secrets';
import { parseListen } from '../core/listen';
import { checkEndpointTemplate, checkPrefix } from './falcon/items';
import { resolveOtlpConfig } from './otlp/config';
import { TAG_STYLES, TagStyle } from './statsd/lines';

type Sinks = Settings['sinks'];
export type StatsdProtocol = 'udp' | 'tcp' | 'uds';

/** The parsed push URL. */
export function checkFalconSettings(cfg: Sinks['falcon']): URL {
  const url = httpUrl(cfg.url, 'sinks.falcon.url', 'http://127.0.0.1:1988/v1/push');
  checkEndpointTemplate(cfg.endpoint);
  checkPrefix(cfg.prefix);
  if (cfg.batch_size > cfg.buffer_points) {
    throw new Error(`sinks.falcon.batch_size: ${cfg.batch_size} is larger than sinks.falcon.buffer_points (${cfg.buffer_points}); every batch would be dropped as soon as it is buffered`);
  }
  return url;
}

export function checkStatsdSettings(cfg: Sinks['statsd']): { protocol: StatsdProtocol; style: TagStyle } {
  const protocol = oneOf<StatsdProtocol>('protocol', cfg.protocol, ['udp', 'tcp', 'uds']);
  const style = oneOf('tag_style', cfg.tag_style, TAG_STYLES);
  if (protocol === 'uds' && !cfg.path) throw new Error('sinks.statsd.path: required when sinks.statsd.protocol is uds');
  if (protocol !== 'uds' && !(Number.isInteger(cfg.port) && cfg.port >= 1 && cfg.port <= 65535)) {
    throw new Error(`sinks.statsd.port: ${cfg.port} is not a port between 1 and 65535`);
  }
  return { protocol, style };
}

export function checkPrometheusSettings(cfg: Sinks['prometheus']): void {
  parseListen(cfg.listen, 'sinks.prometheus.listen');
  if (!cfg.path.startsWith('/')) throw new Error(`sinks.prometheus.path: "${cfg.path}" must start with "/"`);
}

/** Every enabled sink's checks; `env` resolves the OTLP target as the sink will (OTEL_EXPORTER_OTLP_*). */
export function checkSinkSettings(k: Sinks, env: NodeJS.ProcessEnv): void {
  if (k.falcon.enabled) checkFalconSettings(k.falcon);
  if (k.statsd.enabled) checkStatsdSettings(k.statsd);
  if (k.otlp.enabled) resolveOtlpConfig(k.otlp, env);
  if (k.prometheus.enabled) checkPrometheusSettings(k.prometheus);
}

function oneOf<T extends string>(key: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`sinks.statsd.${key}: "${v}" is not one of ${allowed.join(', ')}`);
  return v as T;
}
