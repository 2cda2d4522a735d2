// sockmix in a fresh network namespace without Docker: `unshare -n --fork --kill-child`.
// Only the net namespace is new, so sockmix's pid is the same on the host (and in "ready <pid>").
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { Mix, SOCKMIX_BIN, mixArgs } from './sockmix';

export interface NetnsProc {
  /** sockmix's pid (host pid namespace): read /proc/<pid>/net/* through it. */
  pid: number;
  /** nsfs inode of /proc/<pid>/ns/net (the `net:[inode]` number). */
  netnsInode: number;
  /** SIGTERM sockmix, wait for unshare to exit (SIGKILL after 5 s). Idempotent. */
  kill(): Promise<void>;
}

const live = new Set<NetnsProc>();

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** PPid of a live process, or undefined. */
function parentOf(pid: number): number | undefined {
  try {
    return Number(/^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

export function netnsInode(pid: number): number {
  return fs.statSync(`/proc/${pid}/ns/net`).ino;
}

/**
 * `before`: a shell command run inside the new namespace before sockmix starts (e.g. an nftables
 * rule); sockmix then replaces the shell, so its pid is still unshare's child.
 */
export function spawnInNetns(mix: Mix, timeoutMs = 10_000, before?: string): Promise<NetnsProc> {
  const cmd = before === undefined ? [SOCKMIX_BIN, ...mixArgs(mix)] : ['sh', '-c', `${before} && exec "$0" "$@"`, SOCKMIX_BIN, ...mixArgs(mix)];
  // --kill-child: if unshare dies, the kernel SIGKILLs sockmix (no leaked namespaces).
  const child = spawn('unshare', ['-n', '--fork', '--kill-child', '--', ...cmd], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<NetnsProc>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`spawnInNetns: ${why}${err ? `: ${err.trim()}` : ''}`));
    };
    const timer = setTimeout(() => fail(`no "ready" in ${timeoutMs} ms`), timeoutMs);
    child.on('error', (e) => fail(e.message));
    child.on('exit', (code, sig) => fail(`exited (${code ?? sig}) before "ready"`));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\d+)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const pid = Number(m[1]);
      let inode: number;
      try {
        // Sanity: the pid printed is unshare's child (same pid namespace).
        if (parentOf(pid) !== child.pid) return fail(`ready pid ${pid} is not unshare's child`);
        inode = netnsInode(pid);
      } catch (e) {
        return fail((e as Error).message);
      }
      const proc: NetnsProc = {
        pid,
        netnsInode: inode,
        async kill() {
          live.delete(proc);
          // Only while sockmix is still unshare's child: once it has exited its pid can belong to
          // any process on the host (identity-reuse forces pids to be reused at once).
          if (child.exitCode === null && child.signalCode === null && parentOf(pid) === child.pid) {
            try {
              process.kill(pid, 'SIGTERM');
            } catch {
              /* gone */
            }
          }
          const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited(child);
          clearTimeout(t);
        },
      };
      live.add(proc);
      resolve(proc);
    });
  });
}

/** Kill every namespace process this worker spawned and has not killed yet (for afterAll). */
export async function killAllNetns(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill()));
}
