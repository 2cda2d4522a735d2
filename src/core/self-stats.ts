// The agent's report on itself: cycle durations, errors by stage, and per sink
// what was sent, retried, dropped (by reason) and found invalid. One instance per agent; every
// batch carries a snapshot, so self-metrics go out through the same sinks as the data.

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

export interface SelfSnapshot {
  cycles: number;
  ticks_skipped: number;
  /** Duration of the previous cycle's delivery (this cycle's is not known when the batch is made). */
  deliver_ms: number | null;
  errors: { discover: number; collect: number; deliver: number };
  sinks: Record<string, SinkCounters>;
}

export class SelfStats {
  cycles = 0;
  ticksSkipped = 0;
  deliverMs: number | null = null;
  readonly errors = { discover: 0, collect: 0, deliver: 0 };
  private readonly sinks = new Map<string, SinkCounters>();

  /** The counters a sink updates; created on first use. */
  sink(name: string): SinkCounters {
    let c = this.sinks.get(name);
    if (!c) {
      c = { sent: 0, retried: 0, invalid: 0, dropped: {}, buffered: 0, last_success: null };
      this.sinks.set(name, c);
    }
    return c;
  }

  snapshot(): SelfSnapshot {
    const sinks: Record<string, SinkCounters> = {};
    for (const [name, c] of this.sinks) sinks[name] = { ...c, dropped: { ...c.dropped } };
    return { cycles: this.cycles, ticks_skipped: this.ticksSkipped, deliver_ms: this.deliverMs, errors: { ...this.errors }, sinks };
  }
}

export function countDrop(c: SinkCounters, reason: string, n = 1): void {
  c.dropped[reason] = (c.dropped[reason] ?? 0) + n;
}
