// The resolved settings the plugin (plugin.ts) hands to what it builds.
import { DockerEndpoint } from './host';

export interface DockerConfig {
  host: string;
  /** The endpoint as messages and the --once output show it (credentials masked). */
  shown: string;
  endpoint: DockerEndpoint;
  tls: boolean;
  certPath: string;
  timeoutMs: number;
  inspectConcurrency: number;
}
