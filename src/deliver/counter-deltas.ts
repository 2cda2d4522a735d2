// Turns cumulative counters (kernel snmp counters, the agent's own totals) into the increments a
// StatsD-style counter wants. Pure bookkeeping, one instance per sink; the
// caller chooses the key, which must name the counter's *identity* (for a namespace: its inode
// AND the process it was read through, since inodes are reused).
//
// The contract:
// - First sight of a key establishes the baseline and yields no increment: what happened before
//   the first observation is unknown (agent just started, or the namespace is new).
// - value >= previous: increment = value - previous (0 included: "seen, unchanged").
// - value <  previous: the counter restarted from zero since the last observation (counter
//   reset, 64-bit wrap, agent counters after a restart); increment = value, never negative.
// - A value that is not a finite number >= 0 yields nothing and leaves the baseline as it was
//   (the key still counts as observed: one bad read does not reset it).
// - An increment that could not be delivered can be undone: the baseline goes back to where it
//   was, so the next observation carries the lost part. An undo that comes after a newer
//   observation of the same key (a late failure) is ignored, so nothing is ever counted twice.
// - endCycle() forgets keys not observed since the previous endCycle(): memory follows the
//   targets that exist, and a target that comes back starts from a new baseline.

export interface Increment {
  /** What to add to the counter: >= 0. */
  delta: number;
  /** The value went down: the counter restarted and `delta` is the whole new value. */
  reset: boolean;
  /** Puts the previous baseline back (when `delta` could not be delivered). */
  undo(): void;
}

interface Entry {
  value: number;
  /** Which observation set `value`: lets a late undo see that it is stale. */
  seq: number;
}

export class CounterDeltas<K = string> {
  private readonly last = new Map<K, Entry>();
  private seen = new Set<K>();
  private seq = 0;

  /** Keys currently tracked. */
  get size(): number {
    return this.last.size;
  }

  /** Records `value` for `key`; the increment since the previous observation, if there was one. */
  observe(key: K, value: number): Increment | undefined {
    this.seen.add(key);
    if (!Number.isFinite(value) || value < 0) return undefined;
    const prev = this.last.get(key);
    const entry: Entry = { value, seq: ++this.seq };
    this.last.set(key, entry);
    if (prev === undefined) return undefined;
    const reset = value < prev.value;
    return {
      delta: reset ? value : value - prev.value,
      reset,
      undo: () => {
        if (this.last.get(key) === entry) this.last.set(key, prev);
      },
    };
  }

  /** Forgets every key not observed since the previous call; returns how many were forgotten. */
  endCycle(): number {
    let forgotten = 0;
    for (const key of this.last.keys()) {
      if (!this.seen.has(key)) {
        this.last.delete(key);
        forgotten++;
      }
    }
    this.seen = new Set();
    return forgotten;
  }
}
