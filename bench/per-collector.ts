// The steady cycle and each collector against the syscall floor of the same files (bench/floor.c):
// figures from the worker's report and the C floor's, and their part of the Markdown section.
import type { WorkerReport } from './worker';
import { CFloorReport, UNATTRIBUTED } from './cfloor';
import { Stats, f0, f1, f2, stats } from './stats';

export interface CollectorRow {
  name: string;
  /** The file names it is the first to read (`net/snmp`), and the descriptors of them kept. */
  files: string[];
  descriptors: number;
  /** undefined for files no collector claimed on the few targets used to attribute them. */
  ms?: Stats;
  floorMs?: Stats;
}

export interface FloorFigures {
  /** discover + collect and each stage alone, cycles after the first (cold) one. */
  steady: Stats;
  steadyDiscover: Stats;
  steadyCollect: Stats;
  /** CPU (user + system, all threads) of discover + collect, cycles after the first. */
  steadyCpu: Stats;
  /** The collect stage's time outside every collector: the liveness check after reading, the sweep, the series budget. */
  stageOther: Stats;
  /** V8's garbage-collection pauses during discover + collect (inside any of the parts above). */
  gc: Stats;
  collectors: CollectorRow[];
  floor: { scan: Stats; files: Stats; whole: Stats; coldFiles: Stats; coldWhole: Stats; wholeCpu: Stats; descriptors: number; missing: number };
  hostOrphans?: number;
}

interface Row extends FloorFigures {
  n: number;
  targets: number;
  firstCycleMs: number;
}

export function againstFloor(w: WorkerReport, cf: CFloorReport): FloorFigures {
  const steady = w.cycles.length > 1 ? w.cycles.slice(1) : w.cycles;
  const names = Object.keys(w.cycles[0]?.collectors ?? {});
  const sumOf = (i: number): number => cf.groups.reduce((a, g) => a + g.warmMs[i], 0);
  const cycles = cf.scanMs.map((_, i) => i);
  const collectors: CollectorRow[] = names.map((name) => {
    const g = cf.groups.find((x) => x.name === name);
    return { name, files: w.firstReads[name] ?? [], descriptors: g?.files ?? 0, ms: stats(steady.map((c) => c.collectors[name] ?? 0)), floorMs: g && stats(g.warmMs) };
  });
  const other = cf.groups.find((g) => g.name === UNATTRIBUTED);
  if (other) collectors.push({ name: UNATTRIBUTED, files: [], descriptors: other.files, floorMs: stats(other.warmMs) });
  return {
    steady: stats(steady.map((c) => c.discoverMs + c.collectMs)),
    steadyDiscover: stats(steady.map((c) => c.discoverMs)),
    steadyCollect: stats(steady.map((c) => c.collectMs)),
    steadyCpu: stats(steady.map((c) => c.cpuMs)),
    stageOther: stats(steady.map((c) => c.collectMs - names.reduce((a, n) => a + (c.collectors[n] ?? 0), 0))),
    gc: stats(steady.map((c) => c.gcMs ?? 0)),
    collectors,
    floor: {
      scan: stats(cf.scanMs),
      files: stats(cycles.map(sumOf)),
      whole: stats(cycles.map((i) => cf.scanMs[i] + sumOf(i))),
      coldFiles: stats(cf.coldMs),
      coldWhole: stats(cycles.map((i) => cf.scanMs[i] + cf.coldMs[i])),
      wholeCpu: stats(cycles.map((i) => cf.scanCpuMs[i] + cf.warmCpuMs[i])),
      descriptors: cf.groups.reduce((a, g) => a + g.files, 0),
      missing: cf.missing,
    },
    hostOrphans: w.hostOrphans,
  };
}

const x = (a: number, b: number): string => (b > 0 ? `${f2(a / b)}×` : '—');
const medP95 = (s: Stats): string => `${f1(s.median)} / ${f1(s.p95)}`;

export function floorSection(rows: Row[], at: Row): string[] {
  const us = (ms: number): string => f0((ms / at.targets) * 1000);
  return [
    'Against the syscall floor (`bench/floor.c`, in C, run right after the worker on exactly the files its collect stage kept open; ' +
      'medians over the steady cycles, the first (cold) one left out): the warm floor is readdir /proc + readlink ns/net of every pid ("scan", ' +
      'what procfs discovery cannot avoid) plus `pread` on descriptors kept open, to the end of each file as the agent reads it (until a read returns 0, or a short read where the kernel makes the file whole: `src/procfs/read.ts`); the cold floor opens, reads and closes the same files instead. ' +
      'CPU is user + system time of each process (the worker\'s includes its GC threads): on a shared machine it moves less than wall time.',
    '',
    '| namespaces | steady cycle ms med / p95 (discover + collect) | warm floor ms (scan + pread) | × warm floor | CPU ms: steady cycle / warm floor (×) | cold first cycle ms | cold floor ms (scan + open/read/close) | × cold floor |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.n} (${r.targets} targets, ${r.floor.descriptors} files) | ${medP95(r.steady)} (${f1(r.steadyDiscover.median)} + ${f1(r.steadyCollect.median)}) | ` +
        `${f1(r.floor.whole.median)} (${f1(r.floor.scan.median)} + ${f1(r.floor.files.median)}) | ${x(r.steady.median, r.floor.whole.median)} | ` +
        `${f1(r.steadyCpu.median)} / ${f1(r.floor.wholeCpu.median)} (${x(r.steadyCpu.median, r.floor.wholeCpu.median)}) | ` +
        `${f1(r.firstCycleMs)} | ${f1(r.floor.coldWhole.median)} (${f1(r.floor.scan.median)} + ${f1(r.floor.coldFiles.median)}) | ${x(r.firstCycleMs, r.floor.coldWhole.median)} |`,
    ),
    '',
    `Per collector at ${at.n} namespaces (${at.targets} targets; a file is counted for the collector that reads it first, in the stage's order — later ones reuse its text):`,
    '',
    '| part of the cycle | files it reads first (kept descriptors) | ms per cycle med / p95 | µs per namespace | warm floor of those files ms | × its floor |',
    '|---|---|---|---|---|---|',
    `| discover (procfs) | readdir /proc + readlink ns/net of every pid | ${medP95(at.steadyDiscover)} | ${us(at.steadyDiscover.median)} | ${f1(at.floor.scan.median)} (scan) | ${x(at.steadyDiscover.median, at.floor.scan.median)} |`,
    ...at.collectors.map((c) => {
      const files = c.files.length ? `${c.files.join(', ')} (${c.descriptors})` : c.name === UNATTRIBUTED ? `read for some namespaces only (${c.descriptors})` : 'none of its own';
      const ms = c.ms ? `${medP95(c.ms)} | ${us(c.ms.median)}` : '— | —';
      return `| ${c.name} | ${files} | ${ms} | ${c.floorMs ? f1(c.floorMs.median) : '—'} | ${c.ms && c.floorMs ? x(c.ms.median, c.floorMs.median) : '—'} |`;
    }),
    `| collect stage, outside collectors (liveness check after reading: one readdir, ns/net links of files opened this cycle; sweep; series budget) | — | ${medP95(at.stageOther)} | ${us(at.stageOther.median)} | — | — |`,
    `| of all the above: V8 garbage collection (pauses inside whichever part they fell in) | — | ${medP95(at.gc)} | ${us(at.gc.median)} | — | — |`,
    `| **whole steady cycle** | all (${at.floor.descriptors}) | ${medP95(at.steady)} | ${us(at.steady.median)} | ${f1(at.floor.whole.median)} (scan + files) | **${x(at.steady.median, at.floor.whole.median)}** |`,
    ...(at.floor.missing > 0 ? ['', `${at.floor.missing} kept file(s) could not be opened by the floor (their process left between the worker and the floor).`] : []),
  ];
}

export function floorTargets(at: Row): { name: string; pass: boolean; detail: string }[] {
  const out = [
    {
      name: 'steady cycle ≤ 2× the warm floor',
      pass: at.steady.median <= 2 * at.floor.whole.median,
      detail:
        `discover + collect median ${f1(at.steady.median)} ms / warm floor ${f1(at.floor.whole.median)} ms = ${x(at.steady.median, at.floor.whole.median)}` +
        ` (CPU ${f1(at.steadyCpu.median)} / ${f1(at.floor.wholeCpu.median)} ms = ${x(at.steadyCpu.median, at.floor.wholeCpu.median)})`,
    },
  ];
  const o = at.collectors.find((c) => c.name === 'orphans');
  if (o?.ms) {
    const quiet = at.hostOrphans === 0;
    out.push({
      name: 'the orphans collector adds < 1 ms per cycle when the host has no orphans',
      pass: quiet && o.ms.median < 1,
      detail: `${f2(o.ms.median)} ms median (p95 ${f2(o.ms.p95)} ms)${quiet ? '' : `; not judged: the host had ${at.hostOrphans ?? 'an unknown number of'} orphans`}`,
    });
  }
  return out;
}
