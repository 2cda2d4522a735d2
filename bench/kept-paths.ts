// Which files the collect stage reads, taken from the stage itself rather than from a list: the
// descriptors it keeps open after a cycle (/proc/self/fd), and, per collector, the files it is
// the first to read (stages of the first 1, 2, … enabled collectors run on a few targets; what a
// stage keeps beyond the previous one is that collector's). The warm floor (bench/floor.c) reads
// exactly these paths, grouped by the collector that reads them first, so the groups add up to
// the whole cycle's files.
import * as fs from 'fs';
import type { ActiveCollector, CollectStage as Stage } from '../src/collect/stage';
import type { Target } from '../src/core/model';

/** Descriptor → path, of the paths under `procRoot` this process holds open. */
export function keptPaths(procRoot: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      // A /proc/<pid>/net/* dentry is invalidated whenever anyone looks the path up again (its
      // d_revalidate always says "look again"): the link then ends in " (deleted)", though the
      // descriptor still reads the namespace's file and the path still opens it.
      const p = fs.readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, '');
      if (p.startsWith(`${procRoot}/`)) out.set(fd, p);
    } catch {
      /* the descriptor readdir itself used, closed since */
    }
  }
  return out;
}

/** `/proc/123/net/snmp` → `net/snmp`; `/proc/sys/net/x` → `sys/net/x`. */
export function relName(path: string, procRoot: string): string {
  return path.slice(procRoot.length + 1).replace(/^\d+\//, '');
}

/**
 * collector → the file names (relName) it is the first of the enabled collectors to read, on
 * `targets` (the host target among them: some files are read for the host only). Every file name
 * is claimed by one collector; a collector that reads nothing new (orphans with no host-wide
 * orphans) has none.
 */
export function firstReaders(
  makeStage: (collectors: readonly ActiveCollector[]) => Stage,
  collectors: readonly ActiveCollector[],
  targets: Target[],
  procRoot: string,
): Map<string, string[]> {
  const claimed = new Set<string>();
  const out = new Map<string, string[]>();
  for (let i = 1; i <= collectors.length; i++) {
    const before = keptPaths(procRoot);
    const stage = makeStage(collectors.slice(0, i));
    stage.run(targets);
    const names = new Set([...keptPaths(procRoot)].filter(([fd]) => !before.has(fd)).map(([, p]) => relName(p, procRoot)));
    stage.close();
    out.set(collectors[i - 1].name, [...names].filter((n) => !claimed.has(n)).sort());
    for (const n of names) claimed.add(n);
  }
  return out;
}
