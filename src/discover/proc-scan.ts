// Walks the proc root: which processes exist, which network namespace each is in, and when a
// pid started (to tell a live process from a reused pid).
import * as fs from 'fs';
import { ProcReader, isGone, netnsInode, unlessGone } from '../procfs/read';

/** Start time of a process in clock ticks since boot (/proc/<pid>/stat field 22). */
export function parseStartTime(stat: string): number | undefined {
  // comm (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const v = Number(rest[19]);
  return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

export function pidStartTime(reader: ProcReader, procRoot: string, pid: number): number | undefined {
  const stat = unlessGone(() => reader.read(`${procRoot}/${pid}/stat`));
  return stat === undefined ? undefined : parseStartTime(stat);
}

export interface ScanResult {
  /** netns inode → pids in it, ascending. */
  byNetns: Map<number, number[]>;
  /** Processes whose namespace link could not be read for a reason other than exiting. */
  denied: { pid: number; code: string }[];
}

/** Every process's network namespace. Processes that exit during the scan are left out. */
export function scanNamespaces(procRoot: string): ScanResult {
  const byNetns = new Map<number, number[]>();
  const denied: ScanResult['denied'] = [];
  const pids: number[] = [];
  for (const name of fs.readdirSync(procRoot)) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue; // not a pid (self, net, sys, …): most entries are pids
    const pid = Number(name);
    if (Number.isSafeInteger(pid) && String(pid) === name) pids.push(pid);
  }
  pids.sort((a, b) => a - b);
  for (const pid of pids) {
    let inode: number;
    try {
      inode = netnsInode(procRoot, pid);
    } catch (err) {
      if (!isGone(err)) denied.push({ pid, code: (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN' });
      continue;
    }
    const list = byNetns.get(inode);
    if (list) list.push(pid);
    else byNetns.set(inode, [pid]);
  }
  return { byNetns, denied };
}
