// A target: one network namespace and what discovery knows of it. Its own file so that
// core/flows.ts (whose records name targets) and core/model.ts (whose Batch carries flow records)
// need not import each other; core/model.ts re-exports it.

/** Where a target's network namespace comes from. */
export type Scope = 'host' | 'container' | 'netns';

/** One member of a network namespace as the container runtime knows it. */
export interface ContainerRef {
  id: string;
  /** Unknown when the container was found through /proc only (no runtime API). */
  name?: string;
  image?: string;
  labels: Record<string, string>;
  /** A pod's sandbox as the CRI lists it: it owns the pod's namespace but runs no app. */
  sandbox?: boolean;
}

/**
 * One network namespace, read through one live process. Identity is the namespace inode,
 * but inodes are reused, so a target is only valid for the cycle that resolved it.
 */
export interface Target {
  /** nsfs inode of /proc/<pid>/ns/net. */
  netns: number;
  /** Representative live pid whose /proc/<pid>/net/* files are read. */
  pid: number;
  /** Start time of `pid` (clock ticks since boot, /proc/<pid>/stat field 22); detects pid reuse. */
  pidStart: number;
  scope: Scope;
  containers: ContainerRef[];
  /** Labels describing the namespace as a whole (see core/labels.ts). */
  labels: Record<string, string>;
  /** The pod's IP addresses, as the runtime reports them (CRI); not labels. */
  ips?: string[];
}
