// What the CRI discovery keeps of known pods across cycles (src/discover/cri/known-sandboxes.ts),
// on a real containerd: a steady cycle asks no status, yet a pod whose process left, whose pid
// now belongs to a process in another namespace, or whose sandbox was replaced, is looked up
// again; a removed pod is forgotten. "A runtime slow to notice" is the real containerd whose lists
// keep showing a sandbox it has already marked not ready (the only way its process can leave
// while it is listed, short of a runtime bug).
import { spawnSync } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import { Writable } from 'stream';
import { createLogger } from '../../src/core/log';
import { DiscoveryResult, Target } from '../../src/core/model';
import { CriClient, CriContainer, PodSandbox } from '../../src/discover/cri/client';
import { CriDiscovery } from '../../src/discover/cri/discovery';
import { compileFilters } from '../../src/discover/filters';
import { describeRoot, requireTool } from '../helpers/env';
import { exclusivePids } from '../helpers/exclusive';
import { NetnsProc, killAllNetns, netnsInode, spawnInNetns } from '../helpers/netns';
import { Pod, PrivateContainerd, leftovers } from '../helpers/private-containerd';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const containerd = requireTool('containerd', spawnSync('containerd', ['--version']).status === 0, 'apt-get install containerd (test/setup/deps-containerd.sh)');
const describeCri = (name: string, fn: () => void): void => (containerd.present ? describeRoot(name, fn) : containerd.describe(name, fn));
const signal = () => AbortSignal.timeout(15_000);
const podTarget = (r: DiscoveryResult, id: string): Target | undefined => r.targets.find((t) => t.containers.some((c) => c.id === id));
const byLabel = (r: DiscoveryResult, pod: string): Target[] => r.targets.filter((t) => t.labels.pod === pod);

/** The real runtime through CriClient; its lists also show the `held` sandboxes after it dropped them. Counts status calls. */
class Lagging {
  readonly held = new Map<string, { sandbox: PodSandbox; containers: CriContainer[] }>();
  readonly statusOf: string[] = [];
  private last: { sandboxes: PodSandbox[]; containers: CriContainer[] } = { sandboxes: [], containers: [] };

  readonly make = (socket: string, timeoutMs: number): CriClient => {
    const c = new CriClient(socket, timeoutMs);
    const [sandboxes, containers, status] = [c.listReadySandboxes.bind(c), c.listRunningContainers.bind(c), c.sandboxStatus.bind(c)];
    c.listReadySandboxes = async (sig) => {
      const real = (this.last.sandboxes = await sandboxes(sig));
      return [...real, ...[...this.held.values()].map((h) => h.sandbox).filter((s) => !real.some((r) => r.id === s.id))];
    };
    c.listRunningContainers = async (sig) => {
      const real = (this.last.containers = await containers(sig));
      return [...real, ...[...this.held.values()].flatMap((h) => h.containers).filter((x) => !real.some((r) => r.id === x.id))];
    };
    c.sandboxStatus = async (id, sig) => {
      this.statusOf.push(id);
      return status(id, sig);
    };
    return c;
  };

  /** Keeps listing the pod as the last real lists showed it. */
  hold(podId: string): void {
    const sandbox = this.last.sandboxes.find((s) => s.id === podId);
    if (!sandbox) throw new Error(`pod ${podId} was not in the last list`);
    this.held.set(podId, { sandbox, containers: this.last.containers.filter((c) => c.pod_sandbox_id === podId) });
  }
}

/** Kills the pod's pause process (as the OOM killer would) and waits until its pid is free. */
async function killPause(pod: Pod): Promise<void> {
  process.kill(pod.pid, 'SIGKILL');
  const end = Date.now() + 10_000;
  while (fs.existsSync(`/proc/${pod.pid}`)) {
    if (Date.now() > end) throw new Error(`pause ${pod.pid} not reaped`);
    await sleep(20);
  }
}

/** Waits until the runtime itself says the sandbox is not ready (its process exit handled). */
async function untilNotReady(rt: PrivateContainerd, id: string): Promise<void> {
  const end = Date.now() + 15_000;
  while ((await rt.client.call('PodSandboxStatus', { pod_sandbox_id: id })).status.state === 'SANDBOX_READY') {
    if (Date.now() > end) throw new Error(`sandbox ${id} still ready`);
    await sleep(50);
  }
}

/**
 * A process in a new network namespace holding `pid`: ns_last_pid = pid - 2 makes the next forks
 * (unshare, then sockmix, both in the namespace) take pid - 1 and pid. A fork elsewhere on the
 * host may take them first: then try again.
 */
async function takePid(pid: number): Promise<NetnsProc> {
  for (let attempt = 0; attempt < 20; attempt++) {
    fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 2));
    const p = await spawnInNetns({ listen4: 1 });
    if (fs.existsSync(`/proc/${pid}`) && netnsInode(pid) === p.netnsInode) return p;
    await p.kill();
    await sleep(50);
  }
  throw new Error(`no process of ours got pid ${pid}`);
}

describeCri('CRI discovery: what is kept of known pods', () => {
  let rt: PrivateContainerd;
  const lag = new Lagging();
  let d: CriDiscovery;
  const discover = async (): Promise<DiscoveryResult> => {
    const r = await d.discover(signal());
    expect(r.errors).toEqual([]);
    return r;
  };
  /** Status calls made by `fn`. */
  const statusCalls = async <T>(fn: () => Promise<T>): Promise<[T, string[]]> => {
    const before = lag.statusOf.length;
    const out = await fn();
    return [out, lag.statusOf.slice(before)];
  };

  let releasePids: (() => void) | undefined;
  beforeAll(async () => {
    releasePids = await exclusivePids(); // it sets ns_last_pid
    rt = await PrivateContainerd.create();
    const log = createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() }));
    const filter = compileFilters({ include_names: [], exclude_names: [], include_labels: [], exclude_labels: [] });
    d = new CriDiscovery({ sockets: [rt.socketPath], configured: true, timeoutMs: 5000, statusConcurrency: 4 }, { procRoot: '/proc', copyLabels: [], filter, hasIncludeFilter: false }, log, lag.make);
  }, 420_000);
  afterEach(async () => {
    lag.held.clear();
    await killAllNetns();
  });
  afterAll(async () => {
    releasePids?.();
    await d?.close();
    if (rt) {
      await rt.destroy();
      expect(leftovers(rt)).toEqual([]);
    }
  }, 120_000);

  it('a pod whose process left while still listed is asked for again and skipped, not an error', async () => {
    const pod = await rt.runPod({ name: 'left', containers: [{ name: 'main' }] });
    const [first] = await statusCalls(discover);
    expect(podTarget(first, pod.id)?.pid).toBe(pod.pid);
    const [, steady] = await statusCalls(discover);
    expect(steady).toEqual([]);

    lag.hold(pod.id);
    await killPause(pod);
    const [r, asked] = await statusCalls(discover);
    expect(asked).toEqual([pod.id]); // the runtime says not ready: a skip
    expect(podTarget(r, pod.id)).toBeUndefined();
    expect(byLabel(r, 'left')).toEqual([]);
    await rt.removePod(pod.id);
  });

  it('a pod whose pid now belongs to a process in another namespace is never labelled onto it', async () => {
    const pod = await rt.runPod({ name: 'reused', containers: [{ name: 'main' }] });
    const first = await discover();
    const t = podTarget(first, pod.id)!;
    expect(t).toMatchObject({ pid: pod.pid, labels: { pod: 'reused' } });

    lag.hold(pod.id);
    await killPause(pod);
    // Once the runtime knows (until then its status still vouches for the dead pid: the runtime's
    // answer is what a pid is learned from, see known-sandboxes.ts).
    await untilNotReady(rt, pod.id);
    const other = await takePid(pod.pid);
    expect(other.netnsInode).not.toBe(t.netns);
    const [r, asked] = await statusCalls(discover);
    expect(asked).toEqual([pod.id]);
    expect(byLabel(r, 'reused')).toEqual([]);
    expect(r.targets.find((x) => x.pid === pod.pid || x.netns === other.netnsInode)).toBeUndefined();
    await other.kill();
    await rt.removePod(pod.id);
  }, 60_000);

  it('a pod\'s sandbox replaced (same pod, new sandbox): the pod moves to the new namespace and pid; the old sandbox is forgotten', async () => {
    const uid = randomUUID();
    const old = await rt.runPod({ name: 'replaced', uid, containers: [{ name: 'main' }] });
    const first = await discover();
    const was = podTarget(first, old.id)!;
    expect(was).toMatchObject({ pid: old.pid, labels: { pod: 'replaced', pod_uid: uid } });

    await rt.removePod(old.id);
    const now = await rt.runPod({ name: 'replaced', uid, attempt: 1, containers: [{ name: 'main' }] });
    const [r, asked] = await statusCalls(discover);
    expect(asked).toEqual([now.id]);
    const t = podTarget(r, now.id)!;
    expect(t).toMatchObject({ pid: now.pid, netns: fs.statSync(`/proc/${now.pid}/ns/net`).ino, labels: { pod: 'replaced', pod_uid: uid } });
    // The new namespace often gets the old one's inode (the lowest free): the pid tells them apart.
    expect(t.pid).not.toBe(was.pid);
    expect(byLabel(r, 'replaced')).toHaveLength(1);
    expect(podTarget(r, old.id)).toBeUndefined();
    await rt.removePod(now.id);
  });

  it('a removed pod is forgotten: listed again, it is asked for again', async () => {
    const pod = await rt.runPod({ name: 'removed', containers: [{ name: 'main' }] });
    await discover();
    lag.hold(pod.id); // what the list showed, to show it again later
    const held = lag.held.get(pod.id)!;
    lag.held.clear();
    await rt.removePod(pod.id);
    const [gone, none] = await statusCalls(discover);
    expect(none).toEqual([]);
    expect(podTarget(gone, pod.id)).toBeUndefined();

    lag.held.set(pod.id, held);
    const [r, asked] = await statusCalls(discover);
    expect(asked).toEqual([pod.id]); // not served from what was kept: the runtime says not found, a skip
    expect(podTarget(r, pod.id)).toBeUndefined();
  });

  it('a pod whose containers change is labelled from its running containers again', async () => {
    const pod = await rt.runPod({ name: 'shrinks', containers: [{ name: 'a' }, { name: 'b' }] });
    const first = await discover();
    expect(podTarget(first, pod.id)?.labels).toMatchObject({ kube_container: 'a,b', container: 'a,b' });
    const b = pod.containers.find((c) => c.name === 'b')!;
    await rt.client.call('StopContainer', { container_id: b.id, timeout: 0 });
    const [r, asked] = await statusCalls(discover);
    expect(asked).toEqual([]);
    const t = podTarget(r, pod.id)!;
    expect(t.labels).toMatchObject({ kube_container: 'a', container: 'a' });
    expect(t.containers.map((c) => c.id).sort()).toEqual([pod.id, pod.containers.find((c) => c.name === 'a')!.id].sort());
    await rt.removePod(pod.id);
  });
});
