// The data that flows through the pipeline: schedule → discover → collect → deliver, and the three
// seams between the stages (Discovery, the collect stage's Collector in collect/collector.ts, Sink).
// Imports only core/metrics', core/target's and core/flows' types: every other module may import this one.
import type { MetricDef } from './metrics';
import type { FlowInterval } from './flows';
import type { Target } from './target';

export type { Scope, ContainerRef, Target } from './target';

/**
 * One number read from the kernel, with the definition its collector declared: key, kind
 * (gauge/counter) and scope. A `host`-scoped sample describes the whole host whatever namespace
 * it was read in; the collect stage keeps it on the host target only.
 */
export interface Sample {
  def: MetricDef;
  value: number;
  /**
   * What tells apart several samples of one metric in one namespace (`interface`: eth0, eth1; the
   * flows collector's direction, class, proto). Keys are those its MetricDef.labels declares; absent
   * for the one-per-namespace metrics.
   */
  labels?: Record<string, string>;
}

export interface TargetSamples {
  target: Target;
  samples: Sample[];
}

export interface StageError {
  stage: 'discover' | 'collect' | 'deliver';
  code: string;
  message: string;
  /** What the error concerns: a pid, a container id, a sink name. */
  subject?: string;
}

export interface CycleStats {
  discover_ms: number;
  collect_ms: number;
  targets: number;
  /** Targets whose process left between discovery and reading. */
  skipped: number;
  errors: number;
  /** Which discovery source produced the targets (auto resolves to docker or procfs). */
  discovery: string;
  /**
   * Per collector, this cycle: milliseconds spent over all targets, errors, series made, and series
   * the `max_series` budget dropped; `unresolved`, for collectors with a time budget, the targets it
   * left without a value (absent, not 0).
   */
  collectors: Record<string, { ms: number; errors: number; series: number; dropped: number; unresolved?: number }>;
}

/** Everything one cycle produced; every sink receives the same batch. */
export interface Batch {
  /** Unix seconds, aligned down to the interval. */
  timestamp: number;
  /** The schedule's period in seconds (a cron schedule's longest gap): Open-Falcon's `step`. */
  step: number;
  host: string;
  kernel: string;
  cycle: CycleStats;
  results: TargetSamples[];
  errors: StageError[];
  /** The agent's own counters as they stood when this cycle began delivering. */
  self: SelfSnapshot;
  /**
   * The flows collector's records of this cycle's read (collect/flows/), when it is on: for row
   * sinks (deliver/clickhouse/). Metric sinks ignore it; they get the flows' counters in `results`.
   */
  flows?: FlowInterval;
}

/** `logged`: the sink has said this failure itself (once, for a standing one); the agent does not log it again. */
export type SinkResult =
  | { status: 'ok'; sent: number }
  | { status: 'retryable'; error: string; logged?: true }
  | { status: 'failed'; error: string; logged?: true };

/**
 * A backend. `write` is never called before `start` resolves or after `close`;
 * `close` flushes whatever the sink still holds.
 */
export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  write(batch: Batch, signal: AbortSignal): Promise<SinkResult>;
  /**
   * `why`: what ends it — `shutdown` (the default) or `reload` (a reload removed it, or replaced
   * it by one that cannot take its buffer over); points it still holds after flushing are counted
   * as dropped under that reason.
   */
  close(why?: CloseReason): Promise<void>;
  /**
   * The wire encoding of what it buffers (e.g. `falcon/json`, `otlp/http/protobuf`), for sinks that
   * buffer: a reload hands buffered payloads from one instance to its replacement only when both
   * say the same.
   */
  readonly encoding?: string;
  /** Reload: gives up its buffered payloads (oldest first) and stops, sending and counting nothing. */
  handOver?(): Promise<Handover>;
  /** Reload: takes over a previous instance's payloads, to be sent before its own. */
  adopt?(h: Handover): void;
}

/** Why a sink is closed: the drop reason of the points it could not flush. */
export type CloseReason = 'shutdown' | 'reload';

/** What one sink instance hands its replacement on a reload. */
export interface Handover {
  encoding: string;
  payloads: unknown[];
}

export interface DiscoveryResult {
  targets: Target[];
  errors: StageError[];
  /** The source that answered (for `auto`: docker or procfs). */
  source: string;
  /**
   * Set when the source could not list anything at all (its daemon is down): why. The result then
   * holds the host target only, and `auto` moves on to the next source.
   */
  down?: string;
  /** Namespaces found but not readable through any live process (e.g. an empty named netns). */
  skipped: number;
}

/** Partial failure is normal: discover() reports errors in its result and never rejects. */
export interface Discovery {
  readonly name: string;
  discover(signal: AbortSignal): Promise<DiscoveryResult>;
  close?(): Promise<void>;
}

/** Thrown by a collector when the target's process has gone; the cycle counts it as skipped. */
export class TargetGoneError extends Error {
  readonly code = 'ETARGETGONE';
  constructor(readonly pid: number, cause?: unknown) {
    super(`process ${pid} exited before its namespace could be read`, { cause });
  }
}

export interface SinkCounters {
  sent: number;
  retried: number;
  invalid: number;
  /** Labels left out of sent points' tags to fit the backend's limits (Open-Falcon); absent until then. */
  labels_dropped?: number;
  /** reason → points dropped (buffer_full, rejected, invalid_local, …). */
  dropped: Record<string, number>;
  /** Points waiting to be sent. */
  buffered: number;
  /** Unix seconds of the last successful delivery; null before the first. */
  last_success: number | null;
}

/** The agent's own counters as one cycle's batch carries them (core/self-stats.ts keeps them). */
export interface SelfSnapshot {
  cycles: number;
  ticks_skipped: number;
  /** Duration of the previous cycle's delivery (this cycle's is not known when the batch is made). */
  deliver_ms: number | null;
  errors: { discover: number; collect: number; deliver: number };
  /** Errors per collector since start. */
  collector_errors: Record<string, number>;
  /** Series per collector the `max_series` budget dropped since start. */
  collector_series_dropped: Record<string, number>;
  sinks: Record<string, SinkCounters>;
}
