// The C floor (bench/floor.c): built with gcc into .build/floor when its source is newer, run right
// after the agent's worker on exactly the files the worker's collect stage kept open, grouped by
// the collector that reads each first (bench/kept-paths.ts).
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from './preflight';
import { relName } from './kept-paths';
import { shortReadIsEndAt } from '../src/procfs/read';

export interface CFloorReport {
  /** readdir /proc + readlink ns/net of every pid, per cycle. */
  scanMs: number[];
  /** open + read + close of every file, per cycle. */
  coldMs: number[];
  /** CPU time (user + system) of the scan, of all warm reads, of all cold reads, per cycle. */
  scanCpuMs: number[];
  warmCpuMs: number[];
  coldCpuMs: number[];
  /** Files that could not be opened (their process left). */
  missing: number;
  /** pread of kept descriptors, per group (collector) and cycle. */
  groups: { name: string; files: number; warmMs: number[] }[];
}

/** Files read by no collector of the few targets used to attribute them (read for some namespaces only). */
export const UNATTRIBUTED = 'unattributed';

/** Compiles the floor when needed; returns the binary's path. */
export function buildFloor(): string {
  const src = path.join(ROOT, 'bench', 'floor.c');
  const out = path.join(ROOT, '.build', 'floor');
  if (!fs.existsSync(out) || fs.statSync(src).mtimeMs > fs.statSync(out).mtimeMs) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', `${out}.tmp`, src], { stdio: 'inherit' });
    fs.renameSync(`${out}.tmp`, out);
  }
  return out;
}

/** Runs the floor over `paths` for `cycles` cycles; `firstReads` names each file's group. */
export function runFloor(bin: string, cycles: number, paths: string[], firstReads: Record<string, string[]>, procRoot = '/proc'): CFloorReport {
  const owner = new Map<string, string>();
  for (const [collector, names] of Object.entries(firstReads)) for (const n of names) owner.set(n, collector);
  // Grouped in the collectors' order, so the report lists them as the stage runs them.
  const order = Object.keys(firstReads);
  const rank = (g: string): number => (order.includes(g) ? order.indexOf(g) : order.length);
  const lines = paths.map((p) => [owner.get(relName(p, procRoot)) ?? UNATTRIBUTED, p] as const).sort((a, b) => rank(a[0]) - rank(b[0]));
  const r = spawnSync(bin, [String(cycles)], { input: lines.map(([g, p]) => `${g}\t${endBelowArg(shortReadIsEndAt(p))}\t${p}\n`).join(''), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${bin} exited with ${r.status ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout) as CFloorReport;
}

/** SHORT_READ_IS_END as floor.c takes it: bytes, -1 for any short read. */
function endBelowArg(n: number): number {
  return n === Infinity ? -1 : n;
}
