// Prometheus: configuration of the pull endpoint (sink.ts serves, registry.ts builds the page).
// The page is written by registry.ts (no client library). Daemon only: in --once the page would vanish at exit.
import { parseListen } from '../../core/listen';
import { SinkPlugin } from '../plugin';
import { PrometheusConfig } from './settings';


export type { PrometheusConfig };

export const prometheus: SinkPlugin<PrometheusConfig> = {
  name: 'prometheus',
  once: 'never',
  config: {
    path: 'sinks.prometheus',
    schema: {
      enabled: { doc: 'Serve the last cycle on an HTTP /metrics endpoint.', format: Boolean, default: false, env: 'SOCKPULSE_PROMETHEUS_ENABLED' },
      listen: {
        doc: 'Address to listen on, host:port (loopback unless you mean otherwise).',
        format: 'listen',
        default: '127.0.0.1:9477',
        env: 'SOCKPULSE_PROMETHEUS_LISTEN',
      },
      path: { doc: 'Path of the metrics page.', format: String, default: '/metrics', env: 'SOCKPULSE_PROMETHEUS_PATH' },
    },
    resolve(raw) {
      const r = raw as { listen: string; path: string };
      const address = parseListen(r.listen, 'sinks.prometheus.listen');
      if (!r.path.startsWith('/')) throw new Error(`sinks.prometheus.path: "${r.path}" must start with "/"`);
      return { listen: r.listen, address, path: r.path };
    },
  },
  create(cfg, ctx) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PrometheusSink } = require('./sink') as typeof import('./sink');
    return new PrometheusSink(cfg, ctx);
  },
};
