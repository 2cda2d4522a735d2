// The resolved settings the plugin (plugin.ts) hands to what it builds.
import { DeliveryOptions } from '../delivery';
import { OtlpTarget } from './config';

export interface OtlpConfig {
  /** Holds the header values: never log it. */
  target: OtlpTarget;
  delivery: DeliveryOptions;
}
