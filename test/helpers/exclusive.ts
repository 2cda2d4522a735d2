// A lock across jest workers for suites that need the host's namespaces to themselves:
// identity-reuse waits for the kernel to hand a freed inode out again, which the suites that
// churn namespaces next to it (churn, docker-churn) would take first; docker-faults' `auto` agent
// scans every namespace on the host within a 0.8 s deadline, which churn's 2000 would break. mkdir is atomic; the lock names
// its owner's pid, so one left by a killed run is taken over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from './procs';

const LOCK = path.join(os.tmpdir(), 'sockpulse-test-netns.lock');

/** Waits (up to `ms`) for the lock; resolves with its release. */
export async function exclusiveNamespaces(ms = 300_000): Promise<() => void> {
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
