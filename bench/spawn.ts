// Network namespaces for the benchmark: `unshare -n --fork --kill-child -- <cmd>`, one sleeping
// process each. Plain namespaces hold `sleep infinity`; "heavy" ones hold .build/sockmix with a
// few hundred sockets. Spawned in bounded batches; every process is killed again by killAll()
// (also from a synchronous process 'exit' hook, so an exception cannot leak namespaces).
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';

/** Sockets held by a heavy namespace: 200 TCP listeners, 20 loopback pairs, 50 UDP sockets. */
export const HEAVY_ARGS = ['--listen4', '150', '--listen6', '50', '--estab4', '20', '--udp4', '40', '--udp6', '10'];
/** What the kernel then shows in that namespace (see test/helpers/sockmix.ts for the rules). */
export const HEAVY_EXPECTED: NsStats = { inuse: 240, established: 40, udp: 50, total: 290, timewait: 0 };
export const PLAIN_EXPECTED: NsStats = { inuse: 0, established: 0, udp: 0, total: 0, timewait: 0 };

export interface NsStats {
  inuse: number;
  established: number;
  udp: number;
  total: number;
  timewait: number;
}

export interface BenchNs {
  kind: 'plain' | 'heavy';
  /** The process holding the namespace (child of unshare); the netns is read through it. */
  pid: number;
  /** Start time of `pid` (/proc/<pid>/stat field 22): tells it from a later process with its pid. */
  pidStart: number;
  /** nsfs inode of /proc/<pid>/ns/net. */
  netns: number;
  unshare: ChildProcess;
}

const READY_TIMEOUT_MS = 15_000;

export class NsPool {
  readonly all: BenchNs[] = [];
  private readonly children = new Set<ChildProcess>();

  constructor(private readonly sockmix: string) {
    process.on('exit', () => this.killSync());
  }

  /** Grows the pool to `total` namespaces, every `heavyEvery`-th one heavy, `batch` at a time. */
  async growTo(total: number, heavyEvery: number, batch: number): Promise<void> {
    while (this.all.length < total) {
      const n = Math.min(batch, total - this.all.length);
      const start = this.all.length;
      const made = await Promise.all(
        Array.from({ length: n }, (_, i) => ((start + i) % heavyEvery === heavyEvery - 1 ? this.heavy() : this.plain())),
      );
      this.all.push(...made);
    }
  }

  /**
   * SIGKILLs every unshare (only our own children, whose pids cannot be reused before we reap
   * them); --kill-child makes the kernel SIGKILL the namespace process with it. Then checks that
   * no namespace process is left (same pid and same start time, not a zombie).
   */
  async killAll(): Promise<{ killed: number; left: number[] }> {
    const killed = this.children.size;
    this.killSync();
    await Promise.all([...this.children].map(exited));
    const deadline = Date.now() + 5_000;
    let left = this.all.filter(alive);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      left = left.filter(alive);
    }
    this.all.length = 0;
    this.children.clear();
    return { killed, left: left.map((ns) => ns.pid) };
  }

  /**
   * Churn (bench/soak.ts): SIGKILLs the given namespaces (their unshare; --kill-child takes the
   * namespace process with it), waits for the exits, removes them from the pool, then spawns as
   * many of the same kinds. Resolves with the namespaces that replaced them.
   */
  async replace(victims: BenchNs[]): Promise<BenchNs[]> {
    for (const ns of victims) {
      if (ns.unshare.exitCode === null && ns.unshare.signalCode === null) ns.unshare.kill('SIGKILL');
    }
    await Promise.all(victims.map((ns) => exited(ns.unshare)));
    for (const ns of victims) {
      this.children.delete(ns.unshare);
      const i = this.all.indexOf(ns);
      if (i >= 0) this.all.splice(i, 1);
    }
    const made = await Promise.all(victims.map((ns) => (ns.kind === 'heavy' ? this.heavy() : this.plain())));
    this.all.push(...made);
    return made;
  }

  private killSync(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  private launch(cmd: string[], stdout: boolean): ChildProcess {
    const child = spawn('unshare', ['-n', '--fork', '--kill-child', '--', ...cmd], {
      stdio: ['ignore', stdout ? 'pipe' : 'ignore', stdout ? 'pipe' : 'ignore'],
    });
    this.children.add(child);
    return child;
  }

  /** `sleep infinity`; ready once unshare has forked it (it is in the new namespace from then on). */
  private async plain(): Promise<BenchNs> {
    const unshare = this.launch(['sleep', 'infinity'], false);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (unshare.pid === undefined || unshare.exitCode !== null || unshare.signalCode !== null) {
        throw new Error(`unshare exited early (${unshare.exitCode ?? unshare.signalCode})`);
      }
      const pid = childOf(unshare.pid);
      if (pid !== undefined) return { kind: 'plain', ...identify(pid), unshare };
      if (Date.now() > deadline) throw new Error(`unshare ${unshare.pid}: no child after ${READY_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** sockmix; ready when it prints "ready <pid>" (its sockets exist then). */
  private heavy(): Promise<BenchNs> {
    const unshare = this.launch([this.sockmix, ...HEAVY_ARGS], true);
    let out = '';
    let err = '';
    return new Promise<BenchNs>((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new Error(`sockmix: ${why}${err ? `: ${err.trim()}` : ''}`));
      };
      const timer = setTimeout(() => fail(`no "ready" in ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
      unshare.on('error', (e) => fail(e.message));
      unshare.once('exit', (code, sig) => fail(`exited (${code ?? sig}) before "ready"`));
      unshare.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      unshare.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^ready (\d+)$/m.exec(out);
        if (!m) return;
        clearTimeout(timer);
        unshare.removeAllListeners('exit');
        unshare.stdout!.destroy(); // sockmix writes nothing more; keep no fds per namespace
        unshare.stderr!.destroy();
        const pid = Number(m[1]);
        try {
          resolve({ kind: 'heavy', ...identify(pid), unshare });
        } catch (e) {
          fail((e as Error).message);
        }
      });
    });
  }
}

/** The (single) child of a process, from /proc/<pid>/task/<pid>/children. */
function childOf(pid: number): number | undefined {
  try {
    const first = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(' ')[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/** State and start time from /proc/<pid>/stat (fields 3 and 22), undefined when gone. */
function procStat(pid: number): { state: string; start: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], start: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

function identify(pid: number): { pid: number; pidStart: number; netns: number } {
  const st = procStat(pid);
  if (!st) throw new Error(`process ${pid} vanished right after it started`);
  return { pid, pidStart: st.start, netns: fs.statSync(`/proc/${pid}/ns/net`).ino };
}

/** The namespace process still exists (same pid, same start time) and is not a zombie. */
function alive(ns: BenchNs): boolean {
  const st = procStat(ns.pid);
  return st !== undefined && st.start === ns.pidStart && st.state !== 'Z';
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
