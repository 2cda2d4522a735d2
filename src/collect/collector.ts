// The collector seam and the plugin that declares one (see collect/registry.ts).
import { ConfigSection } from '../core/config-section';
import { Sample, Target } from '../core/model';
import { MetricDef } from '../core/metrics';
import { NetFiles } from './netfiles';

/** A collector owns one kind of kernel data and reads it through the target's shared NetFiles. */
export interface Collector {
  collect(target: Target, files: NetFiles): Sample[];
}

/**
 * A collector plugin. Its switch is `collectors.<name>.enabled` (default `defaultEnabled`),
 * added by the registry; `config` declares further keys under `collectors.<name>`. Every sample
 * it emits carries one of `metrics`, or a member of one of `families` (the collect stage reports
 * any other as an error).
 */
export interface CollectorPlugin<C = unknown> {
  name: string;
  /** One line for the configuration reference: what it reads. */
  doc: string;
  defaultEnabled: boolean;
  metrics: readonly MetricDef[];
  /**
   * Families of metrics selected from configuration (collect/protocols.ts): one definition per
   * family, its names written with placeholders (`netstat.<Section>.<Field>`) for the metric
   * reference. A sample whose definition names one of these families (`MetricDef.family`) is
   * declared; the collector bounds how many members it makes.
   */
  families?: readonly MetricDef[];
  config?: Omit<ConfigSection<C>, 'path'>;
  create(cfg: C): Collector;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCollectorPlugin = CollectorPlugin<any>;
