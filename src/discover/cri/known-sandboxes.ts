// What the CRI discovery learned of each ready pod sandbox, kept across cycles while the runtime
// lists the sandbox as ready, so that a steady cycle costs one readlink per pod and no status call.
//
// Learned once, right after the sandbox's verbose status (or the cold cycle's /proc scan,
// sandbox-scan.ts): its pid, that pid's start time and its network namespace inode. Each later cycle, the sandbox is still listed ready and
// /proc/<pid>/ns/net is read again (the one syscall a pod costs):
// - the same inode: still the sandbox's namespace. An inode number names one live namespace at a
//   time and is handed out again only once that namespace is freed; a ready sandbox's namespace
//   is not freed (its pause process is in it, and containerd and CRI-O also pin it with a bind
//   mount until the sandbox is stopped, which takes it off the ready list; in the agent, the
//   collect stage's kept descriptors hold it between cycles too). So whatever process
//   holds the pid now is in the pod's namespace, and reading through it reads the pod's numbers.
// - the process gone, or another inode (the pid reused by a process elsewhere): forgotten; the
//   status is asked again in the same cycle.
// The start time is not read again: it is the target's identity for kept descriptors and sinks.
// What a status says is believed: a runtime that has not yet handled its pause process's exit
// (containerd, for a moment) still reports the sandbox ready with the old pid, and a process that
// took that pid in the meantime would be learned as the pod. Taking it needs the pid counter to
// wrap around within that moment; the collect stage reads through the pid and checks the inode
// again, so what it reads is the inode's namespace whatever happened.
// Sandboxes that leave the list are forgotten; so are their pods' built container refs.
import { ContainerRef } from '../../core/model';
import { ProcReader } from '../../procfs/read';
import { netnsOf } from '../group';
import { pidStartTime } from '../proc-scan';

export interface Known {
  pid: number;
  pidStart: number;
  /** nsfs inode of the pid's network namespace when it was learned (the host's for NODE pods). */
  netns: number;
  /** hostNetwork pod (NamespaceMode NODE): its numbers are the host's. */
  node: boolean;
  ips: string[];
}

/** A pod's container refs as last built, and the container ids they were built from. */
interface Built {
  key: string;
  refs: ContainerRef[];
}

export class KnownSandboxes {
  private readonly known = new Map<string, Known>();
  private readonly built = new Map<string, Built>();

  constructor(
    private readonly reader: ProcReader,
    private readonly procRoot: string,
  ) {}

  /**
   * The sandbox's process as learned, when /proc/<pid>/ns/net still shows the learned namespace;
   * otherwise it is forgotten (asked again) and undefined.
   */
  current(id: string): Known | undefined {
    const k = this.known.get(id);
    if (k === undefined) return undefined;
    if (netnsOf(this.procRoot, k.pid) === k.netns) return k;
    this.known.delete(id);
    return undefined;
  }

  /** What is known of the sandbox, without reading /proc (after current() or learn() this cycle). */
  learned(id: string): Known | undefined {
    return this.known.get(id);
  }

  /** Remembers what a status told; false when the process has already gone (asked again next cycle). */
  learn(id: string, pid: number, node: boolean, ips: string[]): boolean {
    this.known.delete(id);
    const pidStart = pidStartTime(this.reader, this.procRoot, pid);
    if (pidStart === undefined) return false;
    const netns = netnsOf(this.procRoot, pid);
    if (netns === undefined) return false;
    this.known.set(id, { pid, pidStart, netns, node, ips });
    return true;
  }

  forget(id: string): void {
    this.known.delete(id);
  }

  /** Keeps only the listed sandboxes. */
  keep(listed: Set<string>): void {
    for (const id of this.known.keys()) if (!listed.has(id)) this.known.delete(id);
    for (const id of this.built.keys()) if (!listed.has(id)) this.built.delete(id);
  }

  /**
   * The pod's refs, built again only when its running containers changed: a sandbox's and a
   * container's labels, names and image are fixed for their ids' lifetime in the CRI.
   */
  refs(id: string, containerIds: string, build: () => ContainerRef[]): ContainerRef[] {
    const b = this.built.get(id);
    if (b !== undefined && b.key === containerIds) return b.refs;
    const refs = build();
    this.built.set(id, { key: containerIds, refs });
    return refs;
  }
}
