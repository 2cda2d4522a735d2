// Per observation point (one namespace's conntrack table): each connection's counters as last
// read, and the delta since. Keyed by protocol, zone and original tuple. A tuple that was reused
// (the old connection ended and a new one with the same addresses and ports began between two
// reads) shows as a counter that went down, or as a `delta-time=` that went down (only with
// net.netfilter.nf_conntrack_timestamp=1); either starts the connection afresh: its whole counters
// are the delta. /proc shows no conntrack id, so a reused tuple whose new counters already passed
// the old ones (and no timestamps) is counted as growth: the old connection's last bytes after
// the previous read and the new one's first bytes up to its old total are lost (document, rare:
// TCP keeps a closed tuple in TIME_WAIT for 120 s, during which the kernel reuses the entry).
//
// First sight of a connection: its counters so far all count (it began since the previous read,
// or within the kernel's memory of it), except on the first read of a table when `baseline` is
// asked for (the daemon's default): connections already open when the agent started carry
// bytes from before it watched, which belong to no interval it reports.
import { ConntrackEntry } from '../../procfs/nf-conntrack';

interface Last {
  ob: number;
  op: number;
  rb: number;
  rp: number;
  age: number;
  cycle: number;
}

/** The delta of one connection (reused by the table between calls). */
export interface Delta {
  origBytes: number;
  origPackets: number;
  replyBytes: number;
  replyPackets: number;
  /** First sight, or a reused tuple: the counters are the whole connection so far. */
  fresh: boolean;
}

export class FlowTable {
  /** (protocol number × 65536 + zone) → original tuple text → last counters. Nested, so the tuple slice itself is the key (no key string is built per entry). */
  private last = new Map<number, Map<string, Last>>();
  private count = 0;
  private cycle = 0;
  private readonly d: Delta = { origBytes: 0, origPackets: 0, replyBytes: 0, replyPackets: 0, fresh: false };

  constructor(private readonly firstRead: 'baseline' | 'count') {}

  get size(): number {
    return this.count;
  }

  /** Starts a read of the table. */
  begin(): void {
    this.cycle++;
  }

  /**
   * The entry's counters since the previous read, or undefined when nothing is to be counted:
   * no accounting on the entry, or the first read of a baseline table. All zero when it did not move.
   */
  delta(e: ConntrackEntry): Delta | undefined {
    if (e.origBytes < 0 || e.replyBytes < 0 || e.origPackets < 0 || e.replyPackets < 0) return undefined;
    const group = e.protoNum * 65536 + e.zone;
    let byTuple = this.last.get(group);
    if (!byTuple) this.last.set(group, (byTuple = new Map()));
    const prev = byTuple.get(e.tuple);
    const d = this.d;
    if (prev === undefined) {
      byTuple.set(e.tuple, { ob: e.origBytes, op: e.origPackets, rb: e.replyBytes, rp: e.replyPackets, age: e.age, cycle: this.cycle });
      this.count++;
      if (this.cycle === 1 && this.firstRead === 'baseline') return undefined;
      return this.whole(e);
    }
    const reused =
      e.origBytes < prev.ob || e.origPackets < prev.op || e.replyBytes < prev.rb || e.replyPackets < prev.rp || (e.age >= 0 && prev.age >= 0 && e.age < prev.age);
    if (reused) this.whole(e);
    else {
      d.origBytes = e.origBytes - prev.ob;
      d.origPackets = e.origPackets - prev.op;
      d.replyBytes = e.replyBytes - prev.rb;
      d.replyPackets = e.replyPackets - prev.rp;
      d.fresh = false;
    }
    prev.ob = e.origBytes;
    prev.op = e.origPackets;
    prev.rb = e.replyBytes;
    prev.rp = e.replyPackets;
    prev.age = e.age;
    prev.cycle = this.cycle;
    return d;
  }

  /** Forgets connections the last read did not show (the kernel dropped them). */
  end(): void {
    for (const byTuple of this.last.values()) {
      for (const [k, v] of byTuple) {
        if (v.cycle !== this.cycle) {
          byTuple.delete(k);
          this.count--;
        }
      }
    }
  }

  private whole(e: ConntrackEntry): Delta {
    const d = this.d;
    d.origBytes = e.origBytes;
    d.origPackets = e.origPackets;
    d.replyBytes = e.replyBytes;
    d.replyPackets = e.replyPackets;
    d.fresh = true;
    return d;
  }
}
