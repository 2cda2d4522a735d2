// Docker: configuration of the Engine API source (`docker.*`, the docker CLI's variables).
// dockerode (~23 MB of RSS) is loaded only when the source is built, and `auto` builds it only
// once the engine's unix socket exists.
import * as fs from 'fs';
import { redactUrl } from '../../core/secrets';
import { DiscoveryPlugin } from '../plugin';
import { checkDockerSettings } from './host';
import { DockerConfig } from './settings';


export type { DockerConfig };

export const docker: DiscoveryPlugin<DockerConfig> = {
  name: 'docker',
  doc: 'the Docker Engine API: one list call a cycle (with discovery.watch: the /events stream instead), inspect only for new containers',
  config: {
    path: 'docker',
    schema: {
      host: {
        doc: 'Docker engine endpoint: unix:///path (or /path) or tcp://host:port (http:// alike; https:// or tls_verify: TLS), with no user or password. Checked at start in the auto and docker modes.',
        format: String,
        default: 'unix:///var/run/docker.sock',
        env: 'DOCKER_HOST',
        redact: 'url',
      },
      tls_verify: {
        doc: 'Use TLS with the client certificate in cert_path (tcp endpoints).',
        format: Boolean,
        default: false,
        env: 'DOCKER_TLS_VERIFY',
      },
      cert_path: {
        doc: 'Directory holding ca.pem, cert.pem and key.pem.',
        format: String,
        default: '',
        env: 'DOCKER_CERT_PATH',
      },
      timeout: {
        doc: 'Timeout of one Docker API request, in seconds.',
        format: 'non-negative-number',
        default: 10,
        env: 'SOCKPULSE_DOCKER_TIMEOUT',
      },
      inspect_concurrency: {
        doc: 'How many containers are inspected at once (only new or restarted containers are).',
        format: 'positive-int',
        default: 8,
        env: 'SOCKPULSE_DOCKER_INSPECT_CONCURRENCY',
      },
    },
    resolve(raw) {
      const r = raw as { host: string; tls_verify: boolean; cert_path: string; timeout: number; inspect_concurrency: number };
      const { endpoint, tls } = checkDockerSettings(r);
      return {
        host: r.host,
        shown: redactUrl(r.host),
        endpoint,
        tls,
        certPath: r.cert_path,
        timeoutMs: r.timeout * 1000,
        inspectConcurrency: r.inspect_concurrency,
      };
    },
  },
  auto: {
    // A TCP endpoint is always tried; a unix socket only once it exists.
    present: (cfg) => !('socketPath' in cfg.endpoint) || fs.existsSync(cfg.endpoint.socketPath),
    describe: (cfg) => ('socketPath' in cfg.endpoint ? `no Docker socket at ${cfg.endpoint.socketPath}` : cfg.shown),
  },
  create(cfg, shared, log) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { DockerDiscovery } = require('./discovery') as typeof import('./discovery');
    const { dockerClient } = require('./client') as typeof import('./client');
    /* eslint-enable @typescript-eslint/no-require-imports */
    // The event stream has a client of its own: its one long request must not hold a socket of
    // the inspects' pool, nor end after docker.timeout of quiet.
    const events = shared.watch?.enabled ? { client: dockerClient({ ...cfg, timeoutMs: 0, inspectConcurrency: 0 }), log } : undefined;
    return new DockerDiscovery(dockerClient(cfg), { ...shared, concurrency: cfg.inspectConcurrency, endpoint: cfg.shown, timeoutMs: cfg.timeoutMs }, events);
  },
};
