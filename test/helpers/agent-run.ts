// The built CLI (bin/sockpulse.js) as a daemon child process with --format json: one document per
// cycle on stdout, pino JSON log lines on stderr, both collected as they arrive.
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './env';

export const BIN = path.join(REPO_ROOT, 'bin', 'sockpulse.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DocTarget {
  netns: number;
  pid: number;
  scope: string;
  containers: { id: string; name?: string | null }[];
  labels: Record<string, string>;
  stats: Record<string, number | null>;
  counters: Record<string, number | null>;
}
export interface Doc {
  timestamp: number;
  cycle: { discovery: string; discover_ms: number; collect_ms: number; targets: number; skipped: number; errors: number };
  targets: DocTarget[];
  self: { ticks_skipped: number; cycles: number; sinks: Record<string, { sent?: number; dropped?: Record<string, number> }> };
  errors: { stage: string; code: string; message: string; subject?: string }[];
}
export interface LogLine {
  level: number;
  msg: string;
  code?: string;
  discovery?: string;
  skipped?: number;
  sink?: string;
}

export const SKIPPED_TICKS = 'a cycle outlasted the interval; ticks were skipped, not queued';

export class AgentRun {
  readonly docs: Doc[] = [];
  readonly logs: LogLine[] = [];
  readonly child: ChildProcess;
  private exit: Promise<number | null>;
  private out = '';
  private err = '';

  /** `args` follow the binary; `--format json` is added. The environment is PATH plus `env`. */
  constructor(readonly label: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [BIN, '--format', 'json', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, ...env },
    });
    this.exit = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.child.stdout!.on('data', (d) => {
      this.out += d;
      let i;
      while ((i = this.out.indexOf('\n')) >= 0) {
        this.docs.push(JSON.parse(this.out.slice(0, i)) as Doc);
        this.out = this.out.slice(i + 1);
      }
    });
    this.child.stderr!.on('data', (d) => {
      this.err += d;
      let i;
      while ((i = this.err.indexOf('\n')) >= 0) {
        const line = this.err.slice(0, i);
        this.err = this.err.slice(i + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ level: 99, msg: line }); // not pino: kept, and fails checks on levels
        }
      }
    });
  }

  /** The daemon with a configuration file of these YAML lines, removed again when it exits. */
  static withConfig(label: string, yaml: string[]): AgentRun {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-agent-'));
    const file = path.join(dir, 'sockpulse.yaml');
    fs.writeFileSync(file, yaml.join('\n') + '\n');
    const a = new AgentRun(label, ['-c', file]);
    void a.exit.finally(() => fs.rmSync(dir, { recursive: true, force: true }));
    return a;
  }

  get exitCode(): number | null {
    return this.child.exitCode;
  }

  /** Index (≥ from) of the n-th document satisfying pred, waiting for it up to ms. */
  async waitFor(what: string, pred: (d: Doc) => boolean, from: number, n = 1, ms = 15_000): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      let seen = 0;
      for (let i = from; i < this.docs.length; i++) if (pred(this.docs[i]) && ++seen === n) return i;
      if (this.child.exitCode !== null) throw new Error(`${this.label}: agent exited (${this.child.exitCode}) waiting for ${what}`);
      if (Date.now() > deadline) {
        const tail = this.docs.slice(-5).map((d) => `${d.timestamp} ${d.cycle.discovery} ${d.targets.length}t ${d.errors.map((e) => e.code)}`);
        throw new Error(`${this.label}: no ${n}× "${what}" in ${ms} ms; last docs:\n${tail.join('\n')}`);
      }
      await sleep(50);
    }
  }

  /** Waits until `n` more documents than `from` have arrived; the index of the last. */
  cycles(n: number, from = this.docs.length, ms = 15_000): Promise<number> {
    return this.waitFor(`${n} more cycles`, () => true, from, n, ms);
  }

  count(msg: string): number {
    return this.logs.filter((l) => l.msg === msg).length;
  }

  /** Sends `signal` (SIGTERM by default); resolves with the exit code (SIGKILL after 15 s). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    const code = await this.exit;
    clearTimeout(t);
    return code;
  }
}

/** Gaps between consecutive documents (from index `from`) other than `step` seconds: none missing, none twice. */
export function timestampGaps(a: AgentRun, step = 1, from = 0): number[] {
  const ts = a.docs.slice(from).map((d) => d.timestamp);
  return ts.slice(1).map((t, i) => t - ts[i]).filter((g) => g !== step);
}
