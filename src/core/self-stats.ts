// The agent's report on itself: cycle durations, errors by stage, and per sink
// what was sent, retried, dropped (by reason) and found invalid. One instance per agent; every
// batch carries a snapshot, so self-metrics go out through the same sinks as the data.

import type { SelfSnapshot, SinkCounters } from './model';

export type { SelfSnapshot, SinkCounters };

export class SelfStats {
  cycles = 0;
  ticksSkipped = 0;
  deliverMs: number | null = null;
  readonly errors = { discover: 0, collect: 0, deliver: 0 };
  /** collector name → errors since start. */
  readonly collectorErrors = new Map<string, number>();
  /** collector → series the `max_series` budget dropped since start. */
  readonly collectorSeriesDropped = new Map<string, number>();
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
    return {
      cycles: this.cycles,
      ticks_skipped: this.ticksSkipped,
      deliver_ms: this.deliverMs,
      errors: { ...this.errors },
      collector_errors: Object.fromEntries(this.collectorErrors),
      collector_series_dropped: Object.fromEntries(this.collectorSeriesDropped),
      sinks,
    };
  }
}

export function countDrop(c: SinkCounters, reason: string, n = 1): void {
  c.dropped[reason] = (c.dropped[reason] ?? 0) + n;
}
