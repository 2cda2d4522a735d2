// tcp_states → per namespace, TCP sockets in each state, IPv4+IPv6, from the socket tables
// /proc/<pid>/net/tcp{,6} (procfs/tcp-table.ts). Off by default: each table read walks the host's
// whole TCP hash table (~4 ms per table on the test host, two per namespace; BENCHMARKS.md), so an
// operator turns it on for the containers they care about (`include_names`, `include_labels`,
// the discovery filters' syntax) within a CPU budget per cycle (`budget_ms`).
//
// A state is counted as the table prints it, as ss and netstat do: timewait sockets print their
// substate, so a FIN_WAIT2 closed by close() (turned into a timewait socket, counted by sockstat's
// `tw`) counts in fin_wait2; request sockets count in syn_recv. The tables are the ones the orphans
// collector reads (one read per namespace per cycle for both). Targets read longest ago come first;
// those not read within the budget get no values that cycle (self-metric collector.unresolved).
import { compileFilters } from '../core/container-filter';
import { MetricDef, namespaceGauge } from '../core/metrics';
import { ContainerRef, Sample, Target, TargetGoneError } from '../core/model';
import { TCP_STATES } from '../procfs/tcp-table';
import { CollectorPlugin, Collector } from './collector';
import { NetFiles } from './netfiles';

export interface TcpStatesConfig {
  budgetMs: number;
  /** Undefined: every target. */
  include?: (c: ContainerRef) => boolean;
}

export const DEFAULT_TCP_STATES_BUDGET_MS = 200;

const DEFS: [MetricDef, number][] = Object.entries(TCP_STATES).map(([state, num]) => [
  namespaceGauge({
    key: `tcp_state_${state}`,
    falcon: `tcp.state.${state}`,
    prom: `sockpulse_tcp_state_${state}`,
    otel: `sockpulse.tcp.state.${state}`,
    unit: '{socket}',
    help: `TCP sockets in ${state.toUpperCase()} (as the socket table prints it), IPv4+IPv6`,
    source: `tcp, tcp6 socket tables, st = ${num.toString(16).toUpperCase().padStart(2, '0')}`,
  }),
  num,
]);

export class TcpStatesCollector implements Collector {
  private values = new Map<Target, Sample[]>();
  private failed = new Map<Target, unknown>();
  private missing = 0;
  private cycle = 0;
  private lastRead = new Map<string, number>();

  constructor(private readonly cfg: TcpStatesConfig) {}

  plan(targets: readonly Target[], files: (t: Target) => NetFiles): void {
    this.values = new Map();
    this.failed = new Map();
    this.cycle++;
    const include = this.cfg.include;
    const wanted = targets.filter((t) => include === undefined || t.containers.some(include));
    const order = wanted
      .map((t) => ({ t, last: this.lastRead.get(NetFiles.identity(t)) ?? 0 }))
      .sort((a, b) => a.last - b.last);
    const since = { cpu: process.cpuUsage(), wall: performance.now() };
    const lastRead = new Map<string, number>();
    let gone = 0;
    for (const { t, last } of order) {
      const id = NetFiles.identity(t);
      if (overBudget(since, this.cfg.budgetMs)) {
        lastRead.set(id, last);
        continue;
      }
      try {
        const f = files(t);
        const v4 = f.tcp();
        const v6 = f.tcp6();
        this.values.set(t, DEFS.map(([def, num]) => ({ def, value: v4.states[num] + (v6?.states[num] ?? 0) })));
        lastRead.set(id, this.cycle);
      } catch (err) {
        if (err instanceof TargetGoneError) gone++;
        else this.failed.set(t, err);
      }
    }
    this.lastRead = lastRead; // forgets targets no longer wanted
    this.missing = wanted.length - this.values.size - gone;
  }

  collect(target: Target): Sample[] {
    const err = this.failed.get(target);
    if (err !== undefined) throw err;
    return this.values.get(target) ?? [];
  }

  unresolved(): number {
    return this.missing;
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

export const tcpStates: CollectorPlugin<TcpStatesConfig> = {
  name: 'tcp_states',
  doc: 'TCP sockets per state per namespace (socket tables tcp, tcp6): costly, off by default, for the containers selected, within a CPU budget',
  defaultEnabled: false,
  metrics: DEFS.map(([def]) => def),
  config: {
    schema: {
      budget_ms: {
        doc: 'CPU milliseconds per cycle for reading socket tables (~4 ms per table; a namespace has two). Namespaces not read within it get no values that cycle; the next cycle starts with them.',
        format: 'non-negative-number',
        default: DEFAULT_TCP_STATES_BUDGET_MS,
        env: 'SOCKPULSE_TCP_STATES_BUDGET_MS',
      },
      include_names: {
        doc: 'Only namespaces with a container whose name matches one of these regular expressions (anchored). Empty, with include_labels empty: every namespace, the host included.',
        format: 'string-list',
        default: [],
        env: 'SOCKPULSE_TCP_STATES_INCLUDE_NAMES',
      },
      include_labels: {
        doc: 'Only namespaces with a container carrying one of these labels: `key` or `key=regex`.',
        format: 'string-list',
        default: [],
        env: 'SOCKPULSE_TCP_STATES_INCLUDE_LABELS',
      },
    },
    resolve: (raw) => {
      const names = raw.include_names as string[];
      const labels = raw.include_labels as string[];
      const filter = compileFilters({ include_names: names, include_labels: labels, exclude_names: [], exclude_labels: [] }, 'collectors.tcp_states');
      return { budgetMs: raw.budget_ms as number, ...(names.length + labels.length > 0 ? { include: filter } : {}) };
    },
  },
  create: (cfg) => new TcpStatesCollector(cfg),
};
