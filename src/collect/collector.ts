// The collector seam and the plugin that declares one (see collect/registry.ts).
import { ConfigSection } from '../core/config-section';
import { Sample, StageError, Target } from '../core/model';
import { MetricDef } from '../core/metrics';
import { NetFiles } from './netfiles';

/** A collector owns one kind of kernel data and reads it through the target's shared NetFiles. */
export interface Collector {
  collect(target: Target, files: NetFiles): Sample[];
  /**
   * Called once per cycle before any `collect`, with every target of the cycle, for a collector
   * whose numbers for one target come from another namespace's files (flows: the host's conntrack
   * table holds the pods' connections). What it returns is reported as this collector's errors.
   */
  beginCycle?(targets: readonly Target[], procRoot: string): StageError[];
}

/**
 * A collector plugin. Its switch is `collectors.<name>.enabled` (default `defaultEnabled`),
 * added by the registry; `config` declares further keys under `collectors.<name>`. Every sample
 * it emits carries one of `metrics` (the collect stage reports any other as an error).
 */
export interface CollectorPlugin<C = unknown> {
  name: string;
  /** One line for the configuration reference: what it reads. */
  doc: string;
  defaultEnabled: boolean;
  metrics: readonly MetricDef[];
  config?: Omit<ConfigSection<C>, 'path'>;
  create(cfg: C): Collector;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCollectorPlugin = CollectorPlugin<any>;
