// The collector seam and the plugin that declares one (see collect/registry.ts).
import { ConfigSection } from '../core/config-section';
import { Sample, StageError, Target } from '../core/model';
import { FlowInterval } from '../core/flows';
import { MetricDef } from '../core/metrics';
import { NetFiles } from './netfiles';

/** A collector owns one kind of kernel data and reads it through the target's shared NetFiles. */
export interface Collector {
  /**
   * Optional, once per cycle before any `collect`: sees every target of the cycle, for a collector
   * that decides across namespaces what to read (orphans.ts) or whose numbers for one target come
   * from another namespace's files (flows: the host's conntrack table holds the pods'
   * connections). `files(t)` is the NetFiles that `collect(t)` will get, so what it reads is read
   * once. Its time counts as the collector's; errors it returns are the collector's errors.
   */
  plan?(targets: readonly Target[], files: (t: Target) => NetFiles, procRoot: string): StageError[] | void;
  collect(target: Target, files: NetFiles): Sample[];
  /**
   * Optional, after `plan`: the per-connection records this cycle read (the flows collector), which
   * the collect stage puts on the batch for row sinks. Undefined: nothing was read this cycle.
   */
  flowInterval?(): FlowInterval | undefined;
  /** Optional: targets this collector left without a value this cycle (over budget), for the self-metrics. */
  unresolved?(): number;
  /**
   * What the collector has to say once (a kernel that says less, a module not loaded): taken by
   * the collect stage after each cycle and logged by the agent. Each message is returned once.
   */
  takeNotices?(): string[];
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
  /**
   * Which collectors' series a `max_series` budget drops first: the lowest priority first (see
   * collect/series-budget.ts). Default DEFAULT_PRIORITY.
   */
  priority?: number;
  /**
   * For the series reference, when the count is not one per declared metric: the series it makes
   * in each namespace, and those it adds on the host target (host-wide numbers).
   */
  series?: { namespace?: string; host?: string };
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

/** The priority of a collector that declares none. */
export const DEFAULT_PRIORITY = 50;
