// Open-Falcon: configuration and checks of the sink (sink.ts sends, items.ts encodes).
import { httpUrl } from '../../core/secrets';
import { SinkPlugin } from '../plugin';
import { DeliverySettings, deliverySchema, resolveDelivery } from '../delivery';
import { checkEndpointTemplate, checkPrefix } from './items';
import { FalconConfig, FalconNaming } from './settings';


interface Raw extends DeliverySettings {
  url: string;
  endpoint: string;
  prefix: string;
  naming: FalconNaming;
  timeout: number;
  batch_size: number;
}

export type { FalconConfig };

export const falcon: SinkPlugin<FalconConfig> = {
  name: 'falcon',
  config: {
    path: 'sinks.falcon',
    schema: {
      enabled: { doc: 'Push to Open-Falcon.', format: Boolean, default: false, env: 'SOCKPULSE_FALCON_ENABLED' },
      url: {
        doc: 'The agent\'s /v1/push or a transfer\'s /api/push (the transfer\'s reply reports invalid items).',
        format: String,
        default: 'http://127.0.0.1:1988/v1/push',
        env: 'SOCKPULSE_FALCON_URL',
        redact: 'url',
      },
      endpoint: {
        doc: 'Endpoint of each item: a template of {host}, {container}, {pod}, {namespace}; a placeholder with no value (the host target) falls back to {host}.',
        format: String,
        default: '{host}',
        env: 'SOCKPULSE_FALCON_ENDPOINT',
      },
      prefix: { doc: 'Metric name prefix.', format: String, default: 'sockpulse', env: 'SOCKPULSE_FALCON_PREFIX' },
      naming: {
        doc: 'sockpulse: every metric under the prefix. agent: a container\'s numbers that the falcon-plus agent also reports go out under the agent\'s own names and tags (ss.estab, ss.timewait, TcpExt.<Field>, snmp.Udp.<Field>, net.if.<in|out>.<bytes|packets|errors|dropped> with iface=), so strategies written for hosts apply to containers; needs an endpoint with {container} or {pod}. The host and containers whose endpoint falls back to the host name keep sockpulse names (the host\'s own agent reports those).',
        format: ['sockpulse', 'agent'],
        default: 'sockpulse',
        env: 'SOCKPULSE_FALCON_NAMING',
      },
      timeout: {
        doc: 'Timeout of one push request, in seconds; 0 means only the cycle deadline limits it. Above the ~14 s the local agent takes to answer when its transfer is down; behind the agent a request sent in full and not answered in time is not resent (the agent may have queued it) but counted as dropped, reason uncertain.',
        format: 'non-negative-number',
        default: 20,
        env: 'SOCKPULSE_FALCON_TIMEOUT',
      },
      batch_size: { doc: 'Items per push request.', format: 'positive-int', default: 500, env: 'SOCKPULSE_FALCON_BATCH_SIZE' },
      ...deliverySchema('SOCKPULSE_FALCON'),
    },
    resolve(raw) {
      const r = raw as unknown as Raw;
      const url = httpUrl(r.url, 'sinks.falcon.url', 'http://127.0.0.1:1988/v1/push');
      checkEndpointTemplate(r.endpoint);
      checkPrefix(r.prefix);
      if (r.naming === 'agent' && !/\{(container|pod)\}/.test(r.endpoint)) {
        throw new Error(`sinks.falcon.naming: agent needs sinks.falcon.endpoint to name the container ({container} or {pod}); with "${r.endpoint}" every container's ss.estab would land on one endpoint`);
      }
      if (r.buffer_points > 0 && r.batch_size > r.buffer_points) {
        throw new Error(`sinks.falcon.batch_size: ${r.batch_size} is larger than sinks.falcon.buffer_points (${r.buffer_points}); every batch would be dropped as soon as it is buffered`);
      }
      return {
        url,
        rawUrl: r.url,
        transfer: url.pathname.endsWith('/api/push'),
        endpoint: r.endpoint,
        prefix: r.prefix,
        naming: r.naming,
        timeoutMs: Math.round(r.timeout * 1000),
        batchSize: r.batch_size,
        delivery: resolveDelivery(r),
      };
    },
  },
  create(cfg, ctx) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { FalconSink } = require('./sink') as typeof import('./sink');
    return new FalconSink(cfg, ctx);
  },
};
