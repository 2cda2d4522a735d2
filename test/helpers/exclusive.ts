// Locks across jest workers for suites that need part of the host to themselves. mkdir is atomic;
// a lock names its owner's pid, so one left by a killed run is taken over.
// - namespaces: identity-reuse waits for the kernel to hand a freed inode out again, which the
//   suites that churn namespaces next to it (churn, docker-churn) would take first; docker-faults'
//   `auto` agent scans every namespace on the host within a 0.8 s deadline, which churn's 2000
//   would break.
// - pids: identity-reuse and cri-known set /proc/sys/kernel/ns_last_pid to have a pid reused;
//   cri-cold needs a pod's pause to get a lower pid than its containers (the scan reads the first
//   process of each namespace), which such a write — or the pid counter wrapping — breaks.
// Taken in that order when both are needed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from './procs';

/** Waits (up to `ms`) for the namespaces lock; resolves with its release. */
export function exclusiveNamespaces(ms = 300_000): Promise<() => void> {
  return exclusive('netns', ms);
}

/** Waits (up to `ms`) for the pids lock; resolves with its release. */
export function exclusivePids(ms = 300_000): Promise<() => void> {
  return exclusive('pids', ms);
}

async function exclusive(name: string, ms: number): Promise<() => void> {
  const LOCK = path.join(os.tmpdir(), `sockpulse-test-${name}.lock`);
  const end = Date.now() + ms;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      return () => fs.rmSync(LOCK, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(fs.readFileSync(path.join(LOCK, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
    if (owner > 0 && !isAlive(owner)) fs.rmSync(LOCK, { recursive: true, force: true });
    if (Date.now() > end) throw new Error(`${LOCK} still held by pid ${owner} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
