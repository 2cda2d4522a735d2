// Discovery without any container runtime: every distinct network namespace of every process
// under the proc root. Container ids come from /proc/<pid>/cgroup so labels still say which
// container a namespace belongs to.
import { ContainerRef, Discovery, DiscoveryResult, StageError } from '../core/model';
import { ProcReader, unlessGone } from '../procfs/read';
import { parseCgroup } from './cgroup';
import { labelMap } from '../core/labels';
import { Member, groupTargets, resolveHost } from './group';
import { scanNamespaces } from './proc-scan';
import { LabelMemo } from './label-memo';
import { DiscoveryOptions, deniedErrors, failed } from './common';
import { DiscoveryPlugin } from './plugin';

/**
 * What is known of a process from earlier cycles. Keyed by pid and valid only while the pid is in
 * the same namespace: a pid reused by a process elsewhere is read afresh. Within one namespace the
 * container (cgroup) and start time of a pid do not change while it lives, so the steady state
 * reads no cgroup or stat file at all (at 1000 namespaces that was ~55 ms a cycle).
 *
 * "The same namespace" is the same inode, and inodes are reused. That is safe only for namespaces
 * the collect stage read in the last cycle: its kept descriptors pin them (procfs/kept.ts), so
 * their inodes cannot be handed to a new namespace before the next cycle has seen them go. A
 * namespace filtered out is never read and never pinned: its process can exit, and a new process
 * can get both its pid and its inode within one interval (test/integration/identity-reuse.test.ts).
 * So what is known of filtered namespaces is not kept: their cgroups are read every cycle.
 *
 * A pid can also be reused inside a namespace that stays alive (a pod's container restarted, its
 * new process given the old one's pid): nothing cheap tells that apart, so every entry is re-read
 * once every RECHECK_CYCLES cycles, spread by pid so each cycle re-reads about 1/RECHECK_CYCLES of
 * them. Such a process is named by its own container after at most that many cycles.
 */
interface Known {
  netns: number;
  container: ContainerRef | undefined;
  start?: number;
  /** The cycle at which the cgroup is read again. */
  due: number;
}

export const RECHECK_CYCLES = 16;

export class ProcfsDiscovery implements Discovery {
  readonly name = 'procfs';
  private readonly reader = new ProcReader();
  private known = new Map<number, Known>();
  private cycle = 0;
  /** One shared ref per container id, so filters and grouping compare by identity. */
  private refs = new Map<string, ContainerRef>();
  /** Labels built per namespace, reused while its container refs (kept above) stay the same. */
  private readonly labels = new LabelMemo();

  constructor(private readonly opts: DiscoveryOptions) {}

  async discover(): Promise<DiscoveryResult> {
    const { procRoot } = this.opts;
    this.cycle++;
    try {
      const host = resolveHost(this.reader, procRoot);
      const scan = scanNamespaces(procRoot);
      const members: Member[] = [];
      const seen = new Map<number, Known>();
      const refs = new Map<string, ContainerRef>();
      for (const [netns, pids] of scan.byNetns) {
        if (netns === host.netns) continue; // host processes are the host target; no cgroup reads
        const byPid = this.containersOf(netns, pids, seen, refs);
        const all = [...new Set(byPid.values())];
        const kept = all.filter(this.opts.filter);
        if (all.length > 0 ? kept.length === 0 : this.opts.hasIncludeFilter) {
          for (const pid of pids) seen.delete(pid); // not read, so not pinned: see Known
          continue;
        }
        for (const pid of pids) {
          const c = byPid.get(pid);
          if (c === undefined || kept.includes(c)) members.push({ pid, netns, container: c, pidStart: seen.get(pid)?.start });
        }
      }
      this.known = seen; // processes gone since the last cycle are forgotten
      this.refs = refs;
      const targets = groupTargets(
        members,
        host,
        (cs) => (cs.length > 0 ? 'container' : 'netns'),
        this.opts.copyLabels,
        this.reader,
        procRoot,
        this.labels,
      );
      for (const t of targets) {
        const k = seen.get(t.pid);
        if (k) k.start = t.pidStart;
      }
      const errors: StageError[] = deniedErrors(scan.denied);
      // Namespaces found whose processes all left before one could be read (the host target is
      // always made). Processes whose namespace link was denied are not counted: no namespace is
      // known for them, and `skipped` counts namespaces.
      const skipped = new Set(members.map((m) => m.netns)).size - (targets.length - 1);
      return { targets, errors, source: this.name, skipped };
    } catch (err) {
      return failed(this.name, err, procRoot);
    }
  }

  /** The container of each process of one namespace (a pod holds several). */
  private containersOf(netns: number, pids: number[], seen: Map<number, Known>, refs: Map<string, ContainerRef>): Map<number, ContainerRef> {
    const byPid = new Map<number, ContainerRef>();
    for (const pid of pids) {
      let k = this.known.get(pid);
      if (k === undefined || k.netns !== netns || this.cycle >= k.due) {
        const container = this.readContainer(pid);
        if (container === null) continue; // exited since the scan
        const same = k !== undefined && k.netns === netns && k.container?.id === container?.id;
        k = { netns, container, start: same ? k!.start : undefined, due: this.cycle + RECHECK_CYCLES - (k ? 0 : pid % RECHECK_CYCLES) };
      }
      if (k.container) {
        // Shared ref per id; labels come from the cgroup path, which names the same pod every time.
        const ref = refs.get(k.container.id) ?? this.refs.get(k.container.id) ?? k.container;
        refs.set(ref.id, ref);
        k.container = ref;
        byPid.set(pid, ref);
      }
      seen.set(pid, k);
    }
    return byPid;
  }

  /** The container a process belongs to (undefined: none), or null when the process has gone. */
  private readContainer(pid: number): ContainerRef | undefined | null {
    const text = unlessGone(() => this.reader.read(`${this.opts.procRoot}/${pid}/cgroup`));
    if (text === undefined) return null;
    const c = parseCgroup(text);
    if (!c) return undefined;
    // Same label key as the kubelet puts on Docker containers, so labels.ts treats both alike.
    return { id: c.id, labels: labelMap(c.podUid ? { 'io.kubernetes.pod.uid': c.podUid } : {}) };
  }
}

export const procfs: DiscoveryPlugin<void> = {
  name: 'procfs',
  doc: 'every network namespace of every process under the proc root, containers named from their cgroups; no runtime needed',
  create: (_cfg, shared) => new ProcfsDiscovery(shared),
};
