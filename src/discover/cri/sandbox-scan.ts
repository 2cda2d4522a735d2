// New pod sandboxes' pids without a status call each: one walk of the proc root, looking for the
// process whose /proc/<pid>/cgroup names the sandbox's id (cgroup.ts: the kubelet's forms, and
// containerd's own `/k8s.io/<id>` when no cgroup parent is set). That process is the sandbox's
// pause: a sandbox's cgroup holds only it (containers have cgroups of their own, the shim stays in
// the runtime's).
//
// Only processes outside the host's network namespace are looked at: a pod with a network of its
// own (NamespaceMode POD) always has its pause there, and a hostNetwork pod (NODE), whose pause
// is in the host's namespace, is left to its status, which says NODE or not exactly as before
// (and so is anything else found in the host's namespace, such as CRI-O's conmon, whose cgroup
// names the sandbox too). Each namespace costs one cgroup read: its first process (the lowest pid:
// the pause starts before the pod's containers) is a new sandbox's or the namespace is passed
// over. Whatever is not found (a cgroup form the parser does not know, a pause moved or not
// visible in this proc root, pids wrapped around) is asked by status, as without the scan.
//
// Cost, measured here (2 cores, 2000-3700 processes, load 10-19): a readlink of ns/net ~9 µs, a
// cgroup read ~21 µs, against ~1 ms of this process's CPU for one verbose PodSandboxStatus
// (grpc-js, http2, the few kB of `info` JSON) and as much again in the runtime. So the scan pays
// when the new pods are more than 1 to DEFAULT_SCAN_RULE.procsPerStatus processes. Below
// DEFAULT_SCAN_RULE.minNew new pods (a steady cycle's newcomers) the status is asked anyway: it
// saves at most a millisecond or two there (1 new pod, 150 processes: 6.8 ms scan, 8.2 ms status;
// 4 new pods: 7 ms against 15 ms), and only a status gives the pod's IPs.
// A whole cold discover() at 100 pods (500-640 processes, load ~12, medians of 10 fresh sources,
// alternating): 63 ms wall / 44 ms CPU with the scan, 261 ms / 126 ms with a status call each.
import * as fs from 'fs';
import { ProcReader, netnsInode, unlessGone } from '../../procfs/read';
import { parseCgroup } from '../cgroup';

/**
 * When a cycle scans: at least `minNew` new sandboxes (checked before the proc root is even
 * listed), and at least one per `procsPerStatus` processes in it.
 */
export interface ScanRule {
  minNew: number;
  procsPerStatus: number;
}

/** Measured above: a status call is worth ~100 host processes' readlinks; 1-3 new pods are asked. */
export const DEFAULT_SCAN_RULE: ScanRule = { minNew: 4, procsPerStatus: 100 };

export interface Found {
  pid: number;
  netns: number;
}

/**
 * The proc root's pid entries (what the rule weighs, and what scanSandboxes walks), in ascending
 * pid order. Sorted here: Node lists a directory sorted by name (libuv's scandir), so `1021` came
 * before `629` and a pod's container could be taken for its pause.
 */
export function listPids(procRoot: string): string[] {
  return fs
    .readdirSync(procRoot)
    .filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57)
    .sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Sandbox id → its pause process, for the `wanted` ids found outside the host namespace and the
 * `skip` ones (namespaces already known). Stops once every wanted id is found. `pids` in ascending
 * order (listPids), so the first process found in a namespace is its lowest.
 */
export function scanSandboxes(reader: ProcReader, procRoot: string, pids: string[], wanted: ReadonlySet<string>, hostNetns: number, skip: ReadonlySet<number>): Map<string, Found> {
  const found = new Map<string, Found>();
  const taken = new Set<number>();
  for (const name of pids) {
    if (found.size === wanted.size) break;
    let netns: number;
    try {
      netns = netnsInode(procRoot, Number(name));
    } catch {
      continue; // gone, or denied: left to the status call
    }
    if (netns === hostNetns || skip.has(netns) || taken.has(netns)) continue;
    const text = unlessGone(() => reader.read(`${procRoot}/${name}/cgroup`));
    if (text === undefined) continue;
    taken.add(netns);
    const c = parseCgroup(text);
    if (c !== undefined && wanted.has(c.id) && !found.has(c.id)) found.set(c.id, { pid: Number(name), netns });
  }
  return found;
}
