// Discovery without any container runtime: every distinct network namespace of every process
// under the proc root. Container ids come from /proc/<pid>/cgroup so labels still say which
// container a namespace belongs to.
import { ContainerRef, Discovery, DiscoveryResult, StageError } from '../model';
import { ProcReader, isGone } from '../procfs/read';
import { parseCgroup } from './cgroup';
import { Member, groupTargets, resolveHost } from './group';
import { scanNamespaces } from './proc-scan';
import { DiscoveryOptions, deniedErrors, failed } from './common';

export class ProcfsDiscovery implements Discovery {
  readonly name = 'procfs';
  private readonly reader = new ProcReader();

  constructor(private readonly opts: DiscoveryOptions) {}

  async discover(): Promise<DiscoveryResult> {
    const { procRoot } = this.opts;
    try {
      const host = resolveHost(this.reader, procRoot);
      const scan = scanNamespaces(procRoot);
      const members: Member[] = [];
      for (const [netns, pids] of scan.byNetns) {
        if (netns === host.netns) continue; // host processes are the host target; no cgroup reads
        const byPid = this.containersOf(pids);
        const all = [...new Set(byPid.values())];
        const kept = all.filter(this.opts.filter);
        if (all.length > 0 ? kept.length === 0 : this.opts.hasIncludeFilter) continue;
        for (const pid of pids) {
          const c = byPid.get(pid);
          if (c === undefined || kept.includes(c)) members.push({ pid, netns, container: c });
        }
      }
      const targets = groupTargets(
        members,
        host,
        (cs) => (cs.length > 0 ? 'container' : 'netns'),
        this.opts.copyLabels,
        this.reader,
        procRoot,
      );
      const errors: StageError[] = deniedErrors(scan.denied);
      return { targets, errors, source: this.name, skipped: errors.length > 0 ? 0 : scan.denied.length };
    } catch (err) {
      return failed(this.name, err, procRoot);
    }
  }

  /** The container of each process, one shared ref per container id (a pod holds several). */
  private containersOf(pids: number[]): Map<number, ContainerRef> {
    const found = new Map<string, ContainerRef>();
    const byPid = new Map<number, ContainerRef>();
    for (const pid of pids) {
      let text: string;
      try {
        text = this.reader.read(`${this.opts.procRoot}/${pid}/cgroup`);
      } catch (err) {
        if (isGone(err)) continue;
        throw err;
      }
      const c = parseCgroup(text);
      if (!c) continue;
      if (!found.has(c.id)) {
        // Same label key as the kubelet puts on Docker containers, so labels.ts treats both alike.
        found.set(c.id, { id: c.id, labels: c.podUid ? { 'io.kubernetes.pod.uid': c.podUid } : {} });
      }
      byPid.set(pid, found.get(c.id)!);
    }
    return byPid;
  }
}
