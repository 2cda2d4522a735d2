// Builds the configured discovery source.
import { Discovery } from '../core/model';
import { Settings } from '../config/schema';
import { redactUrl } from '../core/secrets';
import { Logger } from '../core/log';
import { compileFilters } from './filters';
import { DiscoveryOptions } from './common';
import { ProcfsDiscovery } from './procfs';
import { NetnsDiscovery } from './netns';
import { AutoDiscovery } from './auto';
import { parseDockerHost } from './docker/host';
import type { DockerDiscovery } from './docker/discovery';

export function createDiscovery(s: Settings, log: Logger): Discovery {
  const f = s.filters;
  const base: DiscoveryOptions = {
    procRoot: s.discovery.proc_root,
    copyLabels: s.docker.copy_labels,
    filter: compileFilters(f),
    hasIncludeFilter: f.include_names.length + f.include_labels.length > 0,
  };
  const endpoint = redactUrl(s.docker.host); // what messages and the --once output show
  // dockerode is loaded only when Docker discovery is built (see auto.ts).
  const docker = (): DockerDiscovery => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { DockerDiscovery } = require('./docker/discovery') as typeof import('./docker/discovery');
    const { dockerClient } = require('./docker/client') as typeof import('./docker/client');
    /* eslint-enable @typescript-eslint/no-require-imports */
    return new DockerDiscovery(dockerClient(s.docker), { ...base, concurrency: s.docker.inspect_concurrency, endpoint, timeoutMs: s.docker.timeout * 1000 });
  };
  switch (s.discovery.mode) {
    case 'docker':
      return docker();
    case 'procfs':
      return new ProcfsDiscovery(base);
    case 'netns':
      return new NetnsDiscovery({ ...base, netnsRoot: s.discovery.netns_root });
    default: {
      const engine = parseDockerHost(s.docker.host); // checked at load: cannot throw here
      const socketPath = 'socketPath' in engine ? engine.socketPath : undefined;
      return new AutoDiscovery(docker, new ProcfsDiscovery(base), socketPath, (source, reason) =>
        source === 'docker'
          ? log.info({ discovery: source, endpoint }, 'discovering containers through the Docker engine')
          : log.info({ discovery: source, reason }, 'Docker engine not answering; scanning every network namespace under the proc root'),
      );
    }
  }
}
