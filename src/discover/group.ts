// Turns processes (and the containers they belong to) into one target per network namespace.
import { ContainerRef, Scope, Target } from '../core/model';
import { ProcReader, netnsInode, unlessGone } from '../procfs/read';
import { labelMap } from '../core/labels';
import { namespaceLabels } from './labels';
import { pidStartTime } from './proc-scan';
import { hasPtraceCap } from './common';
import { Built, LabelMemo } from './label-memo';

export interface Member {
  pid: number;
  netns: number;
  pidStart?: number;
  container?: ContainerRef;
}

export interface HostNs {
  netns: number;
  pid: number;
  pidStart: number;
}

/**
 * The host's network namespace: pid 1's, or else kthreadd's (pid 2). Kernel threads always live in
 * the initial namespace, and some inits refuse namespace reads even to root (seen: a VM's init).
 * In Kubernetes this needs hostPID; without it pid 1 is the agent's own pod and "host" would be
 * the pod: deploy/ sets hostPID.
 */
export function resolveHost(reader: ProcReader, procRoot: string): HostNs {
  let firstErr: unknown;
  for (const pid of [1, 2]) {
    try {
      const netns = netnsInode(procRoot, pid);
      const pidStart = pidStartTime(reader, procRoot, pid);
      if (pidStart !== undefined) return { netns, pid, pidStart };
    } catch (err) {
      firstErr ??= err;
    }
  }
  const why = firstErr ? (firstErr as Error).message : 'no such process';
  const code = (firstErr as NodeJS.ErrnoException | undefined)?.code ?? 'ENOHOST';
  // Without the capability this is where every run first fails: say what to grant.
  const hint = (code === 'EACCES' || code === 'EPERM') && !hasPtraceCap() ? ': run as root or grant CAP_SYS_PTRACE' : '';
  throw Object.assign(new Error(`cannot resolve the host network namespace through pid 1 or 2: ${why}${hint}`), { code });
}

/**
 * Groups members by namespace. Members in the host namespace (`--network host`) are listed on
 * the host target, which is always emitted exactly once. Other namespaces become `otherScope`
 * targets read through their lowest live pid. With a memo (kept by the source across cycles), a
 * namespace whose container refs are the same objects as last cycle keeps its built labels.
 */
export function groupTargets(
  members: Member[],
  host: HostNs,
  otherScope: (containers: ContainerRef[]) => Scope,
  copyLabels: readonly string[],
  reader: ProcReader,
  procRoot: string,
  memo?: LabelMemo,
): Target[] {
  const byNs = new Map<number, Member[]>();
  for (const m of members) {
    const list = byNs.get(m.netns);
    if (list) list.push(m);
    else byNs.set(m.netns, [m]);
  }
  const hostMembers = byNs.get(host.netns) ?? [];
  byNs.delete(host.netns);

  const targets: Target[] = [{ netns: host.netns, pid: host.pid, pidStart: host.pidStart, scope: 'host', containers: containersOf(refsOf(hostMembers)), labels: labelMap() }];
  for (const [netns, list] of byNs) {
    const rep = list.reduce((a, b) => (b.pid < a.pid ? b : a));
    const start = rep.pidStart ?? pidStartTime(reader, procRoot, rep.pid);
    if (start === undefined) continue; // exited since the scan: nothing to read
    const refs = refsOf(list);
    const build = (): Built => {
      const containers = containersOf(refs);
      const scope = otherScope(containers);
      // `--network host` containers are listed on the host target, but the host's numbers are not
      // theirs: no container labels on it.
      return { containers, scope, labels: scope === 'host' ? labelMap() : namespaceLabels(containers, copyLabels) };
    };
    const { containers, scope, labels } = memo ? memo.get(netns, refs, build) : build();
    targets.push({ netns, pid: rep.pid, pidStart: start, scope, containers, labels });
  }
  memo?.endCycle();
  return targets;
}

/** The members' containers by id (the first ref of each). */
function refsOf(members: Member[]): Map<string, ContainerRef> {
  const seen = new Map<string, ContainerRef>();
  for (const m of members) if (m.container && !seen.has(m.container.id)) seen.set(m.container.id, m.container);
  return seen;
}

function containersOf(refs: Map<string, ContainerRef>): ContainerRef[] {
  return [...refs.values()].sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id));
}

/** readlink of a pid's namespace, or undefined when the process has gone. */
export function netnsOf(procRoot: string, pid: number): number | undefined {
  return unlessGone(() => netnsInode(procRoot, pid));
}
