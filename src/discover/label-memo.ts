// A namespace's container list and labels as the last cycle built them, reused while the same
// container refs — the same objects, not equal ones — are in it. Only a source that keeps its refs
// across cycles gets hits (cri/known-sandboxes.ts keeps a pod's refs while its containers stay
// the same); for the others every namespace is built afresh, as without a memo.
import { ContainerRef, Scope } from '../core/model';

export interface Built {
  /** The members' containers, sorted by name. */
  containers: ContainerRef[];
  scope: Scope;
  labels: Record<string, string>;
}

export class LabelMemo {
  private last = new Map<number, Built>();
  private now = new Map<number, Built>();

  /** What `build` made for `netns` last cycle when `refs` (id → ref) holds exactly those refs, else `build()`. */
  get(netns: number, refs: Map<string, ContainerRef>, build: () => Built): Built {
    const was = this.last.get(netns);
    const b = was !== undefined && sameRefs(was.containers, refs) ? was : build();
    this.now.set(netns, b);
    return b;
  }

  /** Ends a cycle: namespaces not seen in it are forgotten. */
  endCycle(): void {
    this.last = this.now;
    this.now = new Map();
  }
}

function sameRefs(containers: ContainerRef[], refs: Map<string, ContainerRef>): boolean {
  if (containers.length !== refs.size) return false;
  for (const c of containers) if (refs.get(c.id) !== c) return false;
  return true;
}
