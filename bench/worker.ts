// The measured process: only the agent's own discovery and collect stages, built exactly as
// src/discover/build.ts (mode procfs, default settings) and src/app/pipeline.ts build them, run for
// --cycles cycles back to back. Its RSS is therefore the agent's. Prints one JSON line.
//
//   node dist/bench/worker.js --cycles 20 --proc-root /proc --show 4026532181,4026532300
import { parseArgs } from 'util';
import * as fs from 'fs';
import { PerformanceObserver } from 'perf_hooks';
import type { Discovery, Target } from '../src/core/model';

export interface WorkerCycle {
  discoverMs: number;
  collectMs: number;
  /** user + system CPU of this process during discover + collect. */
  cpuMs: number;
  rssMB: number;
  /** Milliseconds V8 spent in garbage collection during discover + collect (PerformanceObserver 'gc'). */
  gcMs: number;
  /** Each collector's milliseconds in the collect stage (the stage's own measure). */
  collectors: Record<string, number>;
}

export interface WorkerReport {
  /** RSS of this Node process before the agent's modules were loaded. */
  rssBeforeLoadMB: number;
  cycles: WorkerCycle[];
  /** getrusage maxrss: the peak over the whole process lifetime. */
  peakRssMB: number;
  rssEndMB: number;
  /** From the last cycle. */
  targets: number;
  hostTargets: number;
  skipped: number;
  errors: string[];
  /** netns inode of every target that produced samples in the last cycle. */
  netns: number[];
  /** Samples of the last cycle for the namespaces asked for with --show. */
  shown: Record<string, { pid: number; scope: string; values: Record<string, number> }>;
  /** Every file the stage kept open after the last cycle (what a steady cycle reads). */
  paths: string[];
  /** Collector → the file names (`net/snmp`) it is the first to read (bench/kept-paths.ts). */
  firstReads: Record<string, string[]>;
  /** sockstat `TCP: orphan` of the host after the last cycle (the orphans collector reads no table at 0). */
  hostOrphans?: number;
}

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const rssBeforeLoadMB = process.memoryUsage.rss() / MB;
  const { values } = parseArgs({
    options: {
      cycles: { type: 'string', default: '20' },
      'proc-root': { type: 'string', default: '/proc' },
      show: { type: 'string', default: '' },
      'timeout-ms': { type: 'string', default: '30000' },
    },
  });
  const cycles = Number(values.cycles);
  const procRoot = values['proc-root']!;
  const show = new Set(values.show!.split(',').filter(Boolean).map(Number));
  const timeoutMs = Number(values['timeout-ms']);

  const { ProcfsDiscovery } = await import('../src/discover/procfs');
  const { CollectStage } = await import('../src/collect/stage');
  const { compileFilters } = await import('../src/discover/filters');
  const { defaultCollectors } = await import('../src/collect/stage');
  const { firstReaders, keptPaths } = await import('./kept-paths');

  // Typed as the seam, as Agent holds it (ProcfsDiscovery's own discover() ignores the signal).
  const discovery: Discovery = new ProcfsDiscovery({
    procRoot,
    copyLabels: [],
    filter: compileFilters({ include_names: [], exclude_names: [], include_labels: [], exclude_labels: [] }),
    hasIncludeFilter: false,
  });
  const collect = new CollectStage(procRoot);

  const report: WorkerReport = {
    rssBeforeLoadMB,
    cycles: [],
    peakRssMB: 0,
    rssEndMB: 0,
    targets: 0,
    hostTargets: 0,
    skipped: 0,
    errors: [],
    netns: [],
    shown: {},
    paths: [],
    firstReads: {},
  };
  let last: Target[] = [];
  // GC pauses, attributed to the cycle they end in (entries arrive asynchronously: read after the
  // setImmediate that ends each cycle).
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  for (let i = 0; i < cycles; i++) {
    const signal = AbortSignal.timeout(timeoutMs); // as Agent.runCycle does
    const gc0 = gcMs;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const found = await discovery.discover(signal);
    const t1 = performance.now();
    const out = collect.run(found.targets);
    const t2 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    await new Promise((r) => setTimeout(r, 1)); // delivers the cycle's gc entries
    report.cycles.push({
      discoverMs: t1 - t0,
      collectMs: t2 - t1,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssMB: process.memoryUsage.rss() / MB,
      gcMs: gcMs - gc0,
      collectors: Object.fromEntries(Object.entries(out.collectors).map(([name, c]) => [name, c.ms])),
    });
    last = found.targets;
    if (i === cycles - 1) {
      report.targets = out.results.length;
      report.hostTargets = out.results.filter((r) => r.target.scope === 'host').length;
      report.skipped = found.skipped + out.skipped.length;
      report.errors = [...found.errors, ...out.errors].map((e) => `${e.stage} ${e.code} ${e.subject ?? ''}: ${e.message}`);
      report.netns = out.results.map((r) => r.target.netns);
      for (const r of out.results) {
        if (!show.has(r.target.netns)) continue;
        const values: Record<string, number> = {};
        for (const s of r.samples) values[s.def.key] = s.value;
        report.shown[r.target.netns] = { pid: r.target.pid, scope: r.target.scope, values };
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  report.rssEndMB = process.memoryUsage.rss() / MB;
  report.peakRssMB = process.resourceUsage().maxRSS / 1024;
  report.paths = [...keptPaths(procRoot).values()];
  // A few targets, the host's among them (some files are read for the host only), suffice to name the files.
  const few = [...last.filter((t) => t.scope === 'host'), ...last.filter((t) => t.scope !== 'host').slice(0, 30)];
  report.firstReads = Object.fromEntries(firstReaders((cs) => new CollectStage(procRoot, cs), defaultCollectors(), few, procRoot));
  const orphan = /^TCP:.* orphan (\d+)/m.exec(fs.readFileSync(`${procRoot}/net/sockstat`, 'latin1'));
  if (orphan) report.hostOrphans = Number(orphan[1]);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err) => {
  process.stderr.write(`worker: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
