// Kubernetes CRI (containerd, CRI-O, cri-dockerd): configuration of the CRI source (`cri.*`, and
// crictl's CONTAINER_RUNTIME_ENDPOINT). grpc-js is loaded only when the source is built, and
// `auto` builds it only once a CRI socket exists.
import * as fs from 'fs';
import { DiscoveryPlugin } from '../plugin';
import { CriConfig, DEFAULT_SOCKETS, parseCriEndpoint } from './settings';

export type { CriConfig };

export const cri: DiscoveryPlugin<CriConfig> = {
  name: 'cri',
  doc: 'the Kubernetes CRI (containerd, CRI-O): one target per ready pod sandbox; two list calls a cycle (with discovery.watch and a runtime that has GetContainerEvents: none), a status call only for new pods',
  config: {
    path: 'cri',
    schema: {
      endpoint: {
        doc: `CRI runtime socket: unix:///path or /path. Empty: the first of ${DEFAULT_SOCKETS.join(', ')} that exists. Only List, Status and Version methods are called, and GetContainerEvents with discovery.watch.`,
        format: String,
        default: '',
        env: 'CONTAINER_RUNTIME_ENDPOINT',
      },
      timeout: {
        doc: 'Deadline of one CRI call, in seconds.',
        format: 'non-negative-number',
        default: 5,
        env: 'SOCKPULSE_CRI_TIMEOUT',
      },
      status_concurrency: {
        doc: 'How many pod sandboxes are asked for their status at once (only pods not seen before are).',
        format: 'positive-int',
        default: 8,
        env: 'SOCKPULSE_CRI_STATUS_CONCURRENCY',
      },
      copy_labels: {
        doc: 'Further pod labels to copy onto a pod\'s target labels, by exact name (with docker.copy_labels).',
        format: 'string-list',
        default: [] as string[],
        env: 'SOCKPULSE_CRI_COPY_LABELS',
      },
    },
    resolve(raw) {
      const r = raw as { endpoint: string; timeout: number; status_concurrency: number };
      if (!(r.timeout > 0)) throw new Error('cri.timeout: must be more than 0 seconds (every CRI call has a deadline)');
      const configured = r.endpoint.trim() !== '';
      return {
        sockets: configured ? [parseCriEndpoint(r.endpoint.trim())] : DEFAULT_SOCKETS,
        configured,
        timeoutMs: r.timeout * 1000,
        statusConcurrency: r.status_concurrency,
      };
    },
  },
  auto: {
    present: (cfg) => cfg.sockets.some((s) => fs.existsSync(s)),
    describe: (cfg) => `no CRI socket at ${cfg.sockets.join(', ')}`,
  },
  create(cfg, shared, log) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { CriDiscovery } = require('./discovery') as typeof import('./discovery');
    /* eslint-enable @typescript-eslint/no-require-imports */
    return new CriDiscovery(cfg, shared, log);
  },
};
