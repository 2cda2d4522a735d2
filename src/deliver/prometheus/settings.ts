// The resolved settings the plugin (plugin.ts) hands to what it builds.
import { Listen } from '../../core/listen';

export interface PrometheusConfig {
  /** As configured, for messages. */
  listen: string;
  address: Listen;
  path: string;
}
