// The data that flows through the pipeline: schedule → discover → collect → deliver.
import type { SelfSnapshot } from './self-stats';

/** Where a target's network namespace comes from. */
export type Scope = 'host' | 'container' | 'netns';

/** One member of a network namespace as the container runtime knows it. */
export interface ContainerRef {
  id: string;
  /** Unknown when the container was found through /proc only (no runtime API). */
  name?: string;
  image?: string;
  labels: Record<string, string>;
}

/**
 * One network namespace, read through one live process. Identity is the namespace inode,
 * but inodes are reused, so a target is only valid for the cycle that resolved it.
 */
export interface Target {
  /** nsfs inode of /proc/<pid>/ns/net. */
  netns: number;
  /** Representative live pid whose /proc/<pid>/net/* files are read. */
  pid: number;
  /** Start time of `pid` (clock ticks since boot, /proc/<pid>/stat field 22); detects pid reuse. */
  pidStart: number;
  scope: Scope;
  containers: ContainerRef[];
  /** Labels describing the namespace as a whole (see core/labels.ts). */
  labels: Record<string, string>;
}

export type SampleKind = 'gauge' | 'counter';

/**
 * One number read from the kernel. `hostWide` samples describe the whole host whatever
 * namespace they were read in; they are only ever emitted for the host target.
 */
export interface Sample {
  key: string;
  value: number;
  kind: SampleKind;
  hostWide?: boolean;
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
}

/** Everything one cycle produced; every sink receives the same batch. */
export interface Batch {
  /** Unix seconds, aligned down to the interval. */
  timestamp: number;
  host: string;
  kernel: string;
  cycle: CycleStats;
  results: TargetSamples[];
  errors: StageError[];
  /** The agent's own counters as they stood when this cycle began delivering. */
  self: SelfSnapshot;
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
  close(): Promise<void>;
}

export interface DiscoveryResult {
  targets: Target[];
  errors: StageError[];
  /** The source that answered (for `auto`: docker or procfs). */
  source: string;
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
