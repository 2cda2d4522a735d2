// A small proc tree in a temp dir, built from real kernel text, for collector tests that need
// files a fixture tree does not hold (one namespace per pid, each with its ns/net link).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Target } from '../../src/core/model';

export interface TreeTarget {
  pid: number;
  netns: number;
  scope: Target['scope'];
  /** Path under /proc/<pid>/net → content. */
  net: Record<string, string>;
}

/** Writes the tree; `root` holds files of the proc root itself (`sys/net/netfilter/nf_conntrack_max`). */
export function makeProcTree(targets: TreeTarget[], root: Record<string, string> = {}): { dir: string; targets: Target[]; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockpulse-tree-'));
  const put = (file: string, text: string): void => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  };
  for (const t of targets) {
    for (const [rel, text] of Object.entries(t.net)) put(path.join(dir, String(t.pid), 'net', rel), text);
    fs.mkdirSync(path.join(dir, String(t.pid), 'ns'), { recursive: true });
    fs.symlinkSync(`net:[${t.netns}]`, path.join(dir, String(t.pid), 'ns', 'net'));
  }
  for (const [rel, text] of Object.entries(root)) put(path.join(dir, rel), text);
  return {
    dir,
    targets: targets.map((t) => ({ netns: t.netns, pid: t.pid, pidStart: 1, scope: t.scope, containers: [], labels: {} })),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
