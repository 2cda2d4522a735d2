// Statistics, the Markdown figures section, and (with --write) its place in BENCHMARKS.md.
import * as fs from 'fs';
import { Stats, f0, f1 } from './stats';
import { FloorFigures, floorSection, floorTargets } from './per-collector';

export { Stats, stats, f0, f1 } from './stats';

export interface SizeResult extends FloorFigures {
  n: number;
  heavy: number;
  spawnMs: number;
  cycles: number;
  targets: number;
  extraTargets: number;
  discover: Stats;
  collect: Stats;
  total: Stats;
  cpu: Stats;
  /** Bare syscalls (bench/floor.ts): readdir + readlink of every pid; the collect stage's files. */
  floorScan: Stats;
  floorFiles: Stats;
  firstCycleMs: number;
  rssBeforeLoadMB: number;
  peakRssMB: number;
  rssEndMB: number;
  baselineMs: number;
  baselineFailures: number;
  speedup: number;
  checks: string[];
  problems: string[];
}


export interface Target {
  name: string;
  pass: boolean;
  detail: string;
}

/** The issue's targets, judged at 1000 namespaces (or the largest size run, which is said). */
export function judge(rows: SizeResult[]): { at: number; targets: Target[] } {
  const row = rows.find((r) => r.n === 1000) ?? rows[rows.length - 1];
  const warn = row.n === 1000 ? '' : ` (judged at ${row.n}, not 1000 namespaces)`;
  return {
    at: row.n,
    targets: [
      {
        name: 'collection ≤ 100 ms per cycle',
        pass: row.total.p95 <= 100,
        detail:
          `whole cycle (discover + collect) p95 ${f1(row.total.p95)} ms, median ${f1(row.total.median)} ms; ` +
          `collect stage alone p95 ${f1(row.collect.p95)} ms, median ${f1(row.collect.median)} ms${warn}`,
      },
      { name: 'RSS ≤ 80 MB', pass: row.peakRssMB <= 80, detail: `peak ${f1(row.peakRssMB)} MB, after last cycle ${f1(row.rssEndMB)} MB${warn}` },
      {
        name: '≥ 30× faster than nsenter + ss -s',
        pass: row.speedup >= 30,
        detail: `${f0(row.baselineMs)} ms / ${f1(row.total.median)} ms = ${f0(row.speedup)}×${warn}`,
      },
      {
        name: 'correctness',
        pass: rows.every((r) => r.problems.length === 0),
        detail: rows.every((r) => r.problems.length === 0) ? 'all checks passed at every size' : rows.flatMap((r) => r.problems.map((p) => `N=${r.n}: ${p}`)).join('; '),
      },
      ...floorTargets(row).map((t) => ({ ...t, detail: `${t.detail}${warn}` })),
    ],
  };
}

export interface Env {
  command: string;
  date: string;
  kernel: string;
  node: string;
  cores: number;
  cpuModel: string;
  memGB: number;
  load: string;
  runtimeS: number;
}

export function figures(env: Env, rows: SizeResult[]): string {
  const { at, targets } = judge(rows);
  const atRow = rows.find((r) => r.n === at)!;
  const lines = [
    `Command: \`${env.command}\`  `,
    `Date: ${env.date} · kernel ${env.kernel} · Node ${env.node} · ${env.cores} cores (${env.cpuModel}) · ${env.memGB} GB RAM  `,
    `Load average before the run: ${env.load} · total benchmark runtime ${f1(env.runtimeS)} s`,
    '',
    '| namespaces (heavy) | targets found | discover ms med / p95 | collect ms med / p95 | discover+collect ms med / p95 | CPU ms/cycle med / p95 | RSS peak / end MB | `nsenter … ss -s` ms | speed-up | bare syscalls ms: scan / files |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.n} (${r.heavy}) | ${r.targets}${r.extraTargets ? ` (${r.extraTargets} not ours)` : ''} | ${f1(r.discover.median)} / ${f1(r.discover.p95)} | ` +
        `${f1(r.collect.median)} / ${f1(r.collect.p95)} | ${f1(r.total.median)} / ${f1(r.total.p95)} | ${f1(r.cpu.median)} / ${f1(r.cpu.p95)} | ` +
        `${f1(r.peakRssMB)} / ${f1(r.rssEndMB)} | ${f0(r.baselineMs)}${r.baselineFailures ? ` (${r.baselineFailures} failed)` : ''} | ${f0(r.speedup)}× | ${f1(r.floorScan.median)} / ${f1(r.floorFiles.median)} |`,
    ),
    '',
    `${rows[0]?.cycles ?? 0} cycles per size, back to back, in a fresh worker process. ` +
      `First (cold) cycle: ${rows.map((r) => `${f1(r.firstCycleMs)} ms at ${r.n}`).join(', ')}. ` +
      `Worker RSS before loading the agent's modules: ${f1(rows[0]?.rssBeforeLoadMB ?? 0)} MB. ` +
      `Spawning the namespaces took ${rows.map((r) => `${f0(r.spawnMs)} ms up to ${r.n}`).join(', ')}. ` +
      'Bare syscalls (medians, `bench/floor.ts`, a separate process right after the worker): "scan" = readdir /proc + readlink ns/net of every pid, ' +
      '"files" = open/read/close of sockstat, sockstat6, snmp (and stat/nf_conntrack when the module is loaded) + readlink ns/net per namespace — the same reads the collect stage makes, without parsing.',
    '',
    ...floorSection(rows, atRow),
    '',
    `Targets at ${at} namespaces:`,
    '',
    ...targets.map((t) => `- **${t.pass ? 'PASS' : 'FAIL'}** ${t.name}: ${t.detail}`),
    '',
    'Correctness checks:',
    '',
    ...rows.flatMap((r) => r.checks.map((c) => `- N=${r.n}: ${c}`)),
  ];
  return lines.join('\n');
}

const START = '<!-- bench:figures:start (rewritten by `npm run bench -- --write`) -->';
const END = '<!-- bench:figures:end -->';

/** Replaces the figures section of BENCHMARKS.md (appends one when the markers are missing). */
export function writeFigures(file: string, section: string): void {
  const block = `${START}\n\n${section}\n\n${END}`;
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const next = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, next);
}
