// orphans → each namespace's own count of orphaned TCP sockets, exact, and nearly free.
//
// sockstat's `TCP: orphan` is one host-wide counter (tcp_orphan_count, summed over CPUs): the sum
// over every namespace. The per-namespace count exists only in the socket tables
// /proc/<pid>/net/tcp{,6} (the rule is in procfs/tcp-table.ts), and reading one costs ~4 ms even
// for an empty namespace, because the kernel walks the host's whole TCP hash table for it. So:
//
// 1. Read the host-wide count H (the sockstat every target already reads; no extra file).
//    H = 0 → every namespace has 0: each target gets 0 and no table is read.
// 2. H > 0 → read tables, most likely first, until the orphans found add up to H: namespaces
//    that had orphans when last read, then those whose non-established TCP sockets (TCP inuse +
//    TCP6 inuse − CurrEstab, which bounds their orphans) grew since the last cycle, then those
//    with any, then the rest; ties go to the one read longest ago, so a short budget still
//    reaches every namespace over a few cycles. Each table read gives that namespace exactly.
// 3. Re-read H (H'). Only when found = H = H' is every namespace not read given 0: their
//    orphans are H' minus the ones found. Otherwise (orphans appeared or died during the cycle,
//    or some are in a namespace that is no target — another runtime's, or one whose processes
//    have all exited while its orphans live on) the unread namespaces get no value this cycle.
//    The residual race: between the two reads of H, one orphan dying in a namespace already read
//    while another appears in one not read leaves H unchanged; that namespace shows 0 for one
//    cycle (each table read is a moment's view anyway; the next cycle reads it first once it
//    is found by the growth of its non-established sockets).
// 4. Budget: `budget_ms` of CPU (user + system, this process) per cycle for the tables, and at
//    most four times that in wall time (a starved host). A read started within the budget
//    finishes; namespaces not read when it runs out are absent unless step 3 proves them 0, and
//    are counted (self-metric collector.unresolved). Budget 0 reads nothing: with H > 0 every
//    target is absent, never a guess. A first cycle (`--once`) has no "grew" to rank by.
//
// Cost while H = 0 (the usual case): one flag, a sample per target, and each namespace's
// non-established count taken from the sockstat/snmp the other collectors read (no read of its
// own): 0.83 ms of CPU per cycle at 1000 namespaces (BENCHMARKS.md, `npm run bench:orphans`).
//
// The host target's `orphan` is its own namespace's count; the host-wide H stays sockstat's
// host-scoped `orphan` (host_wide.orphan).
import { namespaceGauge } from '../core/metrics';
import { Sample, Target, TargetGoneError } from '../core/model';
import { CollectorPlugin, Collector } from './collector';
import { NetFiles } from './netfiles';

export interface OrphansConfig {
  budgetMs: number;
}

export const DEFAULT_ORPHAN_BUDGET_MS = 100;

const orphan = namespaceGauge({
  key: 'orphan', falcon: 'orphan', prom: 'sockpulse_tcp_orphans', otel: 'sockpulse.tcp.orphans', unit: '{socket}',
  help: 'Orphaned TCP sockets of the namespace (closed by their process, still sending or waiting), IPv4+IPv6',
  source: 'tcp, tcp6 socket tables (inode 0, FIN_WAIT1/FIN_WAIT2/CLOSING/LAST_ACK, not timewait), read only while sockstat TCP: orphan is not 0',
});

/** Targets of one cycle, in its order, and a count per target (-1: not known). */
interface NonEstab {
  targets: readonly Target[];
  counts: number[];
}

/** Every target's samples while the host has no orphans: one shared, frozen array. */
const NONE: Sample[] = Object.freeze([Object.freeze({ def: orphan, value: 0 })]) as unknown as Sample[];

/** What is remembered of a namespace that was read, keyed by its netns inode (an ordering hint only). */
interface Read {
  orphans: number;
  cycle: number;
}

export class OrphansCollector implements Collector {
  /** This cycle: every target has 0 (the host has no orphans); no per-target state is built. */
  private allZero = false;
  private values = new Map<Target, number>();
  private failed = new Map<Target, unknown>();
  private missing = 0;
  private cycle = 0;
  /** Namespaces read in earlier cycles since the host last had no orphans. */
  private read = new Map<number, Read>();
  /**
   * TCP sockets neither ESTABLISHED nor CLOSE_WAIT per namespace, this cycle's being filled and the
   * last cycle's: by the target's position in the cycle's target list (-1: not known), because
   * collect() sees the targets in that order and storing by position costs nothing per target,
   * where a map by namespace cost ~0.3 ms a cycle at 1000 namespaces; made into a map by
   * namespace only when the host has orphans (order()).
   */
  private cur: NonEstab = { targets: [], counts: [] };
  private last: NonEstab = { targets: [], counts: [] };
  /** Where collect() expects the next target in `cur.targets`. */
  private cursor = 0;

  constructor(private readonly cfg: OrphansConfig) {}

  plan(targets: readonly Target[], files: (t: Target) => NetFiles): void {
    this.allZero = false;
    this.values = new Map();
    this.failed = new Map();
    this.cycle++;
    this.last = this.cur; // forgets namespaces gone for a cycle
    this.cur = { targets, counts: new Array<number>(targets.length).fill(-1) };
    this.cursor = 0;
    this.missing = targets.length;
    const anchor = readable(targets, files);
    if (!anchor) return;
    const before = hostWide(files(anchor).sockstat());
    if (before === 0) {
      this.allZero = true;
      this.missing = 0;
      this.read.clear(); // nobody holds orphans now: what was read says nothing any more
      return;
    }
    const order = this.order(targets, files);
    this.read = new Map(targets.flatMap((t) => (this.read.has(t.netns) ? [[t.netns, this.read.get(t.netns)!]] : []))); // forgets the gone
    const since = { cpu: process.cpuUsage(), wall: performance.now() };
    let found = 0;
    const gone = new Set<Target>();
    for (const target of order) {
      if (found >= before || overBudget(since, this.cfg.budgetMs)) break;
      try {
        const f = files(target);
        const n = f.tcp().orphans + (f.tcp6()?.orphans ?? 0);
        this.values.set(target, n);
        this.read.set(target.netns, { orphans: n, cycle: this.cycle });
        found += n;
      } catch (err) {
        if (err instanceof TargetGoneError) gone.add(target);
        else this.failed.set(target, err);
      }
    }
    const after = hostWide(files(anchor).sockstatAgain());
    if (found === before && after === before) {
      for (const t of targets) if (!this.values.has(t) && !this.failed.has(t) && !gone.has(t)) this.values.set(t, 0);
    }
    this.missing = targets.length - this.values.size - gone.size; // a target gone is the stage's skip
  }

  collect(target: Target, files: NetFiles): Sample[] {
    // The namespace's non-established count, for the next cycle's "grew": from the files other
    // collectors already read (free), never a read of its own.
    const at = this.cur.targets[this.cursor] === target ? this.cursor : this.cur.targets.indexOf(target);
    this.cursor = at + 1;
    if (at >= 0 && files.wasRead('sockstat') && files.wasRead('sockstat6') && files.wasRead('snmp')) {
      const n = nonEstablished(files);
      if (n !== undefined) this.cur.counts[at] = n;
    }
    if (this.allZero) return NONE;
    const err = this.failed.get(target);
    if (err !== undefined) throw err;
    const v = this.values.get(target);
    return v === undefined ? [] : [{ def: orphan, value: v }];
  }

  unresolved(): number {
    return this.missing;
  }

  /** Most likely holders of orphans first (see the header). */
  private order(targets: readonly Target[], files: (t: Target) => NetFiles): Target[] {
    const last = new Map<number, number>();
    this.last.targets.forEach((t, i) => this.last.counts[i] >= 0 && last.set(t.netns, this.last.counts[i]));
    const rows = targets.map((target, i) => {
      const nonEstab = nonEstablished(files(target));
      if (nonEstab !== undefined) this.cur.counts[i] = nonEstab;
      const read = this.read.get(target.netns);
      const grew = nonEstab !== undefined && nonEstab > (last.get(target.netns) ?? 0);
      return { target, some: (nonEstab ?? 1) > 0, had: read?.orphans ?? 0, grew, readCycle: read?.cycle ?? 0 };
    });
    rows.sort((a, b) =>
      b.had - a.had ||
      Number(b.grew) - Number(a.grew) ||
      Number(b.some) - Number(a.some) ||
      a.readCycle - b.readCycle);
    return rows.map((r) => r.target);
  }
}

/** The host target, or else the first target whose sockstat can be read (every one shows the host-wide count). */
function readable(targets: readonly Target[], files: (t: Target) => NetFiles): Target | undefined {
  const host = targets.find((t) => t.scope === 'host');
  for (const t of host ? [host, ...targets] : targets) {
    try {
      files(t).sockstat();
      return t;
    } catch (err) {
      if (!(err instanceof TargetGoneError)) throw err;
    }
  }
  return undefined;
}

/** sockstat `TCP: orphan`; a sockstat without it cannot be planned on. */
function hostWide(s: Record<string, Record<string, number>>): number {
  const v = s.TCP?.orphan;
  if (v === undefined) throw Object.assign(new Error('sockstat has no TCP: orphan field'), { code: 'EMALFORMED' });
  return v;
}

/** TCP sockets of the namespace that are neither ESTABLISHED nor CLOSE_WAIT: an upper bound of its orphans. */
function nonEstablished(f: NetFiles): number | undefined {
  try {
    const v4 = f.sockstat().TCP?.inuse;
    const v6 = f.sockstat6();
    const estab = f.currEstab();
    if (v4 === undefined || estab === undefined) return undefined;
    return Math.max(0, v4 + (v6?.TCP6?.inuse ?? 0) - estab);
  } catch {
    return undefined; // a target that left is found by the collect stage; this is only an ordering hint
  }
}

/**
 * Whether `budgetMs` is used up: CPU (user + system) of this process since `since`, or four times
 * the budget in wall time (on a starved host a CPU budget alone could hold the cycle for seconds).
 */
function overBudget(since: { cpu: NodeJS.CpuUsage; wall: number }, budgetMs: number): boolean {
  const d = process.cpuUsage(since.cpu);
  return (d.user + d.system) / 1000 >= budgetMs || performance.now() - since.wall >= 4 * budgetMs;
}

export const orphans: CollectorPlugin<OrphansConfig> = {
  name: 'orphans',
  doc: 'orphaned TCP sockets per namespace, exact: the socket tables are read only while the host has orphans, most likely namespaces first, within a CPU budget',
  defaultEnabled: true,
  metrics: [orphan],
  config: {
    schema: {
      budget_ms: {
        doc: 'CPU milliseconds per cycle for reading socket tables while the host has orphans (~4 ms per table; a namespace has two). Namespaces left unread get no orphan value that cycle unless the host-wide count proves them 0. 0 reads none.',
        format: 'non-negative-number',
        default: DEFAULT_ORPHAN_BUDGET_MS,
        env: 'SOCKPULSE_ORPHANS_BUDGET_MS',
      },
    },
    resolve: (raw) => ({ budgetMs: raw.budget_ms as number }),
  },
  create: (cfg) => new OrphansCollector(cfg),
};
