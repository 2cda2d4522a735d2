// `npm run bench:orphans` (as root): what the orphans collector (on by default) and the
// tcp_states collector (off by default) cost per cycle, against N real network namespaces. See
// BENCHMARKS.md "Orphans and TCP states".
//
// For each size N (the pool of bench/spawn.ts: `sleep infinity` namespaces, every tenth a heavy
// sockmix one), in this process, with the default collectors and procfs discovery:
//  A. no orphans on the host: --cycles cycles of the default collectors, interleaved with cycles
//     of the same without the orphans collector; the CPU of the collect stage (process.cpuUsage,
//     so a busy host's preemption does not count) with and without it, the collector's own wall
//     time as the stage measures it, and the host-wide orphan count each cycle saw; then the
//     collector alone (its plan + collect over every target, after sockstat and snmp have read
//     their files, as in the stage): CPU per cycle — the figure for "what it adds";
//  B. one more namespace with 2 FIN_WAIT1 orphans, spawned after the cycles of A (so the
//     collector has its history, as a daemon would): the cycles until it is exact, and the collect
//     stage's CPU with and without the collector (interleaved) while the orphans live (~50 s),
//     and the collector alone as in A;
//  C. the same orphans, a fresh collector with no history and no budget limit (what one --once
//     cycle with a raised budget costs): tables read until the count is found; CPU of the cycle;
//  D. tcp_states alone, no budget limit, over every namespace: collect CPU per namespace.
import { ChildProcess, spawn } from 'child_process';
import * as os from 'os';
import { parseArgs } from 'util';
import { preflight, runEnvironment } from './preflight';
import { NsPool } from './spawn';
import { stats } from './report';
import { ActiveCollector, CollectStage, activeCollector, defaultCollectors } from '../src/collect/stage';
import { DEFAULT_ORPHAN_BUDGET_MS, orphans } from '../src/collect/orphans';
import { tcpStates } from '../src/collect/tcp-states';
import { ProcfsDiscovery } from '../src/discover/procfs';
import { compileFilters } from '../src/discover/filters';
import { Target, TargetSamples } from '../src/core/model';
import { Collector } from '../src/collect/collector';
import { NetFiles } from '../src/collect/netfiles';
import { KeptFiles } from '../src/procfs/kept';
import { ProcReader } from '../src/procfs/read';

const USAGE = 'Usage: npm run bench:orphans -- [--sizes 100,1000] [--cycles 20] [--heavy-every 10] [--batch 50]\n';

const discovery = new ProcfsDiscovery({
  procRoot: '/proc',
  copyLabels: [],
  filter: compileFilters({ include_names: [], exclude_names: [], include_labels: [], exclude_labels: [] }),
  hasIncludeFilter: false,
});

const nsOrphan = (r: TargetSamples | undefined): number | undefined =>
  r?.samples.find((s) => s.def.key === 'orphan' && s.def.scope === 'namespace')?.value;
const hostWide = (rs: TargetSamples[]): number | undefined =>
  rs.flatMap((r) => r.samples).find((s) => s.def.key === 'orphan' && s.def.scope === 'host')?.value;

function withOrphans(budgetMs: number): ActiveCollector[] {
  return [...defaultCollectors().filter((c) => c.name !== 'orphans'), activeCollector(orphans, { budgetMs })];
}

/** One discover + collect; `cpuMs` is this process's CPU during collect (preemption on a busy host does not count). */
async function cycle(stage: CollectStage) {
  const found = await discovery.discover();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const out = stage.run(found.targets);
  const cpu = process.cpuUsage(cpu0);
  return { out, targets: found.targets.length, collectMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * The collector alone, as the collect stage runs it after sockstat and snmp have read their files:
 * its plan and its collect for every target, CPU ms (those three files read beforehand, untimed).
 */
function isolated(collector: Collector, targets: readonly Target[]): number {
  const kept = new KeptFiles(new ProcReader());
  const files = new Map(targets.map((t) => [t, new NetFiles(kept, '/proc', t)]));
  for (const f of files.values()) {
    try {
      f.sockstat();
      f.sockstat6();
      f.currEstab();
    } catch {
      /* gone: the stage would skip it */
    }
  }
  const cpu0 = process.cpuUsage();
  collector.plan?.(targets, (t) => files.get(t)!, '/proc');
  for (const t of targets) {
    try {
      collector.collect(t, files.get(t)!);
    } catch {
      /* as above */
    }
  }
  const cpu = process.cpuUsage(cpu0);
  kept.closeAll();
  return (cpu.user + cpu.system) / 1000;
}

/** A namespace holding `--orphan4 2`; resolves with its process and netns inode. */
function orphanNs(sockmix: string): Promise<{ child: ChildProcess; netns: number }> {
  const child = spawn('unshare', ['-n', '--fork', '--kill-child', '--', sockmix, '--orphan4', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (c) => reject(new Error(`orphan sockmix exited (${c})`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\d+)$/m.exec(out);
      if (!m) return;
      child.removeAllListeners('exit');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      resolve({ child, netns: require('fs').statSync(`/proc/${m[1]}/ns/net`).ino as number });
    });
  });
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

const f2 = (x: number): string => x.toFixed(2);
const ms = (xs: number[]): string => {
  const s = stats(xs);
  return `${f2(s.median)} / ${f2(s.p95)}`;
};

async function main(): Promise<number> {
  const started = performance.now();
  const { values: o } = parseArgs({
    options: {
      sizes: { type: 'string', default: '100,1000' },
      cycles: { type: 'string', default: '20' },
      'heavy-every': { type: 'string', default: '10' },
      batch: { type: 'string', default: '50' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) return (process.stdout.write(USAGE), 0);
  const sizes = o.sizes!.split(',').map(Number).sort((a, b) => a - b);
  const [cycles, heavyEvery, batch] = [o.cycles, o['heavy-every'], o.batch].map(Number);
  const sockmix = preflight('bench:orphans');
  if (!sockmix) return 2;
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const pool = new NsPool(sockmix);
  const extra: ChildProcess[] = [];
  const lines: string[] = [];
  const row = (cells: (string | number)[]): void => void lines.push(`| ${cells.join(' | ')} |`);
  lines.push('| N | targets | A: host-wide orphans seen | A: orphans alone, CPU ms/cycle (med / p95) | A: collect CPU ms with / without orphans (each med / p95) | A: added (med) | A: orphans\' own wall ms (med / p95) | B: cycles until exact | B: orphans alone, CPU ms/cycle | B: collect CPU ms with / without | B: added (med) | B: unresolved (max) | C: CPU ms, one cycle, no history, no limit | D: tcp_states CPU ms per namespace (med / p95) |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  try {
    for (const n of sizes) {
      await pool.growTo(n, heavyEvery, batch);
      log(`N=${n}: namespaces up`);
      // A
      const stage = new CollectStage('/proc', withOrphans(DEFAULT_ORPHAN_BUDGET_MS));
      const without = new CollectStage('/proc', defaultCollectors().filter((c) => c.name !== 'orphans'));
      const aOwn: number[] = [];
      const aWith: number[] = [];
      const aWithout: number[] = [];
      const seenH = new Set<number | undefined>();
      let targets = 0;
      for (let i = 0; i < cycles; i++) {
        const c = await cycle(stage);
        aOwn.push(c.out.collectors.orphans.ms);
        aWith.push(c.cpuMs);
        seenH.add(hostWide(c.out.results));
        targets = c.targets;
        aWithout.push((await cycle(without)).cpuMs);
      }
      const lone = orphans.create({ budgetMs: DEFAULT_ORPHAN_BUDGET_MS });
      const aAlone: number[] = [];
      for (let i = 0; i < cycles; i++) aAlone.push(isolated(lone, (await discovery.discover()).targets));
      log(`N=${n}: A done (alone ${ms(aAlone)} ms CPU; orphans own ${ms(aOwn)} ms; collect CPU ${ms(aWith)} with, ${ms(aWithout)} without)`);
      // B
      const ns = await orphanNs(sockmix);
      extra.push(ns.child);
      const bOwn: number[] = [];
      const bWith: number[] = [];
      const bWithout: number[] = [];
      let until = -1;
      let unresolved = 0;
      const t0 = Date.now();
      for (let i = 0; i < cycles && Date.now() - t0 < 30_000; i++) {
        const c = await cycle(stage);
        bOwn.push(c.out.collectors.orphans.ms);
        bWith.push(c.cpuMs);
        unresolved = Math.max(unresolved, c.out.collectors.orphans.unresolved ?? 0);
        if (until < 0 && nsOrphan(c.out.results.find((r) => r.target.netns === ns.netns)) === 2) until = i + 1;
        bWithout.push((await cycle(without)).cpuMs);
      }
      stage.close();
      without.close();
      const bAlone: number[] = [];
      for (let i = 0; i < cycles && Date.now() - t0 < 40_000; i++) bAlone.push(isolated(lone, (await discovery.discover()).targets));
      log(`N=${n}: B done`);
      // C
      const fresh = new CollectStage('/proc', withOrphans(1e9));
      const c = await cycle(fresh);
      const cExact = nsOrphan(c.out.results.find((r) => r.target.netns === ns.netns)) === 2;
      fresh.close();
      await killed(ns.child);
      log(`N=${n}: C done`);
      // D
      const st = new CollectStage('/proc', [activeCollector(tcpStates, { budgetMs: 1e9 })]);
      await cycle(st);
      const d: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await cycle(st);
        d.push(r.cpuMs / r.targets);
      }
      st.close();
      log(`N=${n}: D done`);
      const diff = (w: number[], wo: number[]): string => f2(stats(w).median - stats(wo).median);
      row([n, targets, [...seenH].join(','), ms(aAlone), `${ms(aWith)} / ${ms(aWithout)}`, diff(aWith, aWithout), ms(aOwn),
        until < 0 ? 'not within the cycles' : until, ms(bAlone), `${ms(bWith)} / ${ms(bWithout)}`, diff(bWith, bWithout), unresolved,
        `${f2(c.cpuMs)}${cExact ? '' : ' (NOT exact)'}`, ms(d)]);
    }
  } finally {
    for (const c of extra) await killed(c);
    const { killed: k, left } = await pool.killAll();
    log(left.length === 0 ? `killed ${k} unshare processes; no namespace process left` : `LEFT RUNNING: ${left.join(' ')}`);
  }
  const env = runEnvironment('bench:orphans', load, started);
  process.stdout.write(`\n\`${env.command}\` — ${env.date}, kernel ${env.kernel}, Node ${env.node}, ${env.cores} × ${env.cpuModel}, load before ${env.load}, ${env.runtimeS.toFixed(0)} s\n\n${lines.join('\n')}\n`);
  return 0;
}

function log(msg: string): void {
  process.stderr.write(`[bench:orphans ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`bench:orphans: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
