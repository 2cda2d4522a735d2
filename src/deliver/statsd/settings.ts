// The resolved settings the plugin (plugin.ts) hands to what it builds.
import { TagStyle } from './lines';

export interface StatsdConfig {
  protocol: StatsdProtocol;
  host: string;
  port: number;
  path: string;
  prefix: string;
  tagStyle: TagStyle;
}

export type StatsdProtocol = 'udp' | 'tcp' | 'uds';
