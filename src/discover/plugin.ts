// The discovery source plugin: what a source declares so the registry (discover/registry.ts) can
// configure, build and document it, and so `auto` can try it.
import { ConfigSection } from '../core/config-section';
import { Logger } from '../core/log';
import { Discovery } from '../core/model';
import { DiscoveryOptions } from './common';

export interface DiscoveryPlugin<C = unknown> {
  name: string;
  /** One line for the `discovery.mode` reference. */
  doc: string;
  /** Keys of its own; resolved (and checked) only when the mode uses this source. */
  config?: ConfigSection<C>;
  /**
   * A runtime `auto` tries, in registry order, before scanning /proc: `present` says whether to
   * try it now (e.g. its socket exists), cheaply and without a connection. A source it tries that
   * answers `down` (its daemon is not answering) hands over to the next.
   */
  auto?: { present(cfg: C): boolean; describe(cfg: C): string };
  create(cfg: C, shared: DiscoveryOptions, log: Logger): Discovery;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDiscoveryPlugin = DiscoveryPlugin<any>;
