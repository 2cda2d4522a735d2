// The sink plugin: what a backend declares so the registry (deliver/registry.ts) can configure,
// build and document it. Buffering, retries and counter bookkeeping are shared (push-queue.ts,
// counter-deltas.ts), not each sink's own.
import { ConfigSection } from '../core/config-section';
import { Logger } from '../core/log';
import { MetricDef } from '../core/metrics';
import { Sink, SinkCounters } from '../core/model';

/** What every sink is given besides its own resolved configuration section. */
export interface SinkContext {
  log: Logger;
  /** This sink's self-metrics: add to sent/retried/invalid/dropped/buffered/last_success. */
  counters: SinkCounters;
  /** Host name of this agent (config `hostname` or the machine's). */
  hostname: string;
  /** sockpulse's version (package.json), for OTLP's service.version. */
  version: string;
  /** docker.copy_labels: further label keys targets may carry. */
  copyLabels: readonly string[];
  /** Every metric that can reach the sink, in reference order (collect/registry.ts catalog()). */
  catalog: readonly MetricDef[];
  /** --once: one cycle, then exit. */
  once: boolean;
}

export interface SinkPlugin<C = unknown> {
  name: string;
  /** Its section; it has an `enabled` key (boolean) that switches the sink. */
  config: ConfigSection<C>;
  /**
   * In `--once`: 'always' (stdout prints the cycle even when disabled), 'never' (a pull endpoint
   * that would vanish at exit), or as configured (undefined).
   */
  once?: 'always' | 'never';
  /**
   * A collector whose data the sink exists for (ClickHouse: the flows collector's records): the
   * configuration is refused when the sink is on and that collector is off.
   */
  requires?: { collector: string; why: string };
  /** Builds the sink; loads the backend's library only now (OpenTelemetry is heavy). */
  create(cfg: C, ctx: SinkContext): Sink;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySinkPlugin = SinkPlugin<any>;
