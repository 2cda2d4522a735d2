// The resolved settings the plugin (plugin.ts) hands to what it builds.
import { DeliveryOptions } from '../delivery';

export type FalconNaming = 'sockpulse' | 'agent';

export interface FalconConfig {
  url: URL;
  /** The url as configured (its secrets are hidden in replies). */
  rawUrl: string;
  /** /api/push: a transfer, whose reply counts invalid items. */
  transfer: boolean;
  endpoint: string;
  prefix: string;
  /** `agent`: a container's numbers the falcon-plus agent also has go out under its names (items.ts). */
  naming: FalconNaming;
  /** 0: only the cycle deadline limits a request. */
  timeoutMs: number;
  batchSize: number;
  delivery: DeliveryOptions;
}
