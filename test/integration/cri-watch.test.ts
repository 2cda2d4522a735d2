// discovery.watch with the CRI. Debian's containerd here is 1.6, which has no GetContainerEvents:
// - against it (real, private, behind the recording proxy): UNIMPLEMENTED, said once in the log,
//   and the cycles list as without watch (two list calls each);
// - against a double of a newer runtime (test/helpers/cri-events-double.ts: the event stream
//   served to upstream's contract, every other call relayed to the same real containerd, the
//   recording proxy in front): the steady state makes no call at all, a new pod is found through
//   its events with one status call and no list, a removed pod goes without a list, a dropped
//   stream is reopened with a list after it, and a full list comes every resync_cycles cycles.
// Either way the runtime is only asked List*, *Status, Version and GetContainerEvents.
import { spawnSync } from 'child_process';
import { Writable } from 'stream';
import { createLogger } from '../../src/core/log';
import { DiscoveryResult } from '../../src/core/model';
import { DiscoveryOptions } from '../../src/discover/common';
import { CriDiscovery } from '../../src/discover/cri/discovery';
import { compileFilters } from '../../src/discover/filters';
import { describeRoot, requireTool } from '../helpers/env';
import { GrpcProxy, startGrpcProxy } from '../helpers/grpc-proxy';
import { CriEventsDouble } from '../helpers/cri-events-double';
import { Pod, PrivateContainerd, leftovers } from '../helpers/private-containerd';

const ALLOWED = /^(List\w+|\w*Status|Version|GetContainerEvents)$/;
const FOLLOWING = 'following cri events: a cycle lists only every discovery.resync_cycles cycles';
const LOST = 'cri event stream lost: listing every cycle until it is back';
const UNSUPPORTED = 'the cri runtime has no event stream: listing every cycle (discovery.watch has no effect)';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const shared = (resyncCycles: number): DiscoveryOptions => ({
  procRoot: '/proc',
  copyLabels: [],
  filter: compileFilters({ include_names: [], exclude_names: [], include_labels: [], exclude_labels: [] }),
  hasIncludeFilter: false,
  watch: { enabled: true, resyncCycles },
});
function logger() {
  const out: { msg: string; level: number }[] = [];
  const log = createLogger('debug', new Writable({ write: (c, _e, cb) => (out.push(JSON.parse(String(c))), cb()) }));
  return { log, count: (msg: string) => out.filter((l) => l.msg === msg).length, lines: out };
}
const watching = (socket: string, resync: number, log: ReturnType<typeof logger>['log']) =>
  new CriDiscovery({ sockets: [socket], configured: true, timeoutMs: 5000, statusConcurrency: 4 }, shared(resync), log);
const has = (r: DiscoveryResult, pod: Pod) => r.targets.some((t) => t.containers.some((c) => c.id === pod.id));
const signal = () => AbortSignal.timeout(15_000);

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(50);
  }
}

const containerd = requireTool('containerd', spawnSync('containerd', ['--version']).status === 0, 'apt-get install containerd (test/setup/deps-containerd.sh)');
const describeCri = (name: string, fn: () => void): void => (containerd.present ? describeRoot(name, fn) : containerd.describe(name, fn));

describeCri('discovery.watch with the CRI', () => {
  let rt: PrivateContainerd;
  let double: CriEventsDouble;
  const proxies: GrpcProxy[] = [];

  beforeAll(async () => {
    rt = await PrivateContainerd.create();
    double = await CriEventsDouble.start(rt.socketPath);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await double?.close();
    if (rt) {
      await rt.destroy();
      expect(leftovers(rt)).toEqual([]);
    }
  }, 120_000);
  afterEach(() => {
    for (const p of proxies) expect(p.calls.filter((m) => !ALLOWED.test(m))).toEqual([]);
  });
  const proxy = async (socket: string) => {
    const p = await startGrpcProxy(socket);
    proxies.push(p);
    return p;
  };

  it('containerd 1.6: GetContainerEvents is UNIMPLEMENTED, said once; every cycle lists, and new pods are found', async () => {
    expect(spawnSync('containerd', ['--version'], { encoding: 'utf8' }).stdout).toMatch(/ 1\.6\./);
    const p = await proxy(rt.socketPath);
    const { log, count } = logger();
    const d = watching(p.socketPath, 1000, log);
    try {
      const pod = await rt.runPod({ name: 'old-runtime', containers: [{ name: 'main' }] });
      expect(has(await d.discover(signal()), pod)).toBe(true);
      await until(() => count(UNSUPPORTED) === 1);
      for (let i = 0; i < 4; i++) {
        const before = p.calls.length;
        const late = i === 2 ? await rt.runPod({ name: 'old-runtime-late', containers: [{ name: 'main' }] }) : undefined;
        const r = await d.discover(signal());
        expect(r.errors).toEqual([]);
        if (late) expect(has(r, late)).toBe(true);
        expect(p.calls.slice(before).filter((m) => m.startsWith('List')).sort()).toEqual(['ListContainers', 'ListPodSandbox']);
        if (late) await rt.removePod(late.id);
      }
      expect(p.calls.filter((m) => m === 'GetContainerEvents')).toEqual(['GetContainerEvents']);
      expect(count(UNSUPPORTED)).toBe(1);
      expect(count(FOLLOWING)).toBe(0);
      await rt.removePod(pod.id);
    } finally {
      await d.close();
    }
  }, 60_000);

  it('a runtime with events (the double): no call in steady state; a new pod through its events with one status call; a removed pod goes without a list', async () => {
    const p = await proxy(double.socketPath);
    const { log, count } = logger();
    const d = watching(p.socketPath, 1000, log);
    try {
      const first = await rt.runPod({ name: 'before', namespace: 'shop', containers: [{ name: 'main' }] });
      expect(has(await d.discover(signal()), first)).toBe(true);
      await until(() => count(FOLLOWING) === 1); // open: lasted a second without failing
      await d.discover(signal()); // the list after the stream opened
      for (let i = 0; i < 3; i++) {
        const before = p.calls.length;
        const r = await d.discover(signal());
        expect(r.errors).toEqual([]);
        expect(has(r, first)).toBe(true);
        expect(p.calls.slice(before)).toEqual([]);
      }

      const pod = await rt.runPod({ name: 'after', namespace: 'shop', labels: { app: 'web' }, containers: [{ name: 'server' }, { name: 'sidecar' }] });
      await double.podStarted(pod);
      await rt.removePod(first.id);
      await double.send('CONTAINER_DELETED_EVENT', first.id, first.id);
      await sleep(100); // the events cross the proxy
      let before = p.calls.length;
      const r = await d.discover(signal());
      expect(p.calls.slice(before)).toEqual(['PodSandboxStatus']);
      expect(r.errors).toEqual([]);
      expect(has(r, first)).toBe(false);
      const t = r.targets.find((x) => x.containers.some((c) => c.id === pod.id))!;
      expect(t.labels).toMatchObject({ pod: 'after', namespace: 'shop', pod_uid: pod.uid, kube_container: 'server,sidecar' });
      expect(t.pid).toBe(pod.pid);
      before = p.calls.length;
      expect(has(await d.discover(signal()), pod)).toBe(true);
      expect(p.calls.slice(before)).toEqual([]);
      expect(p.calls.filter((m) => m === 'GetContainerEvents')).toHaveLength(1);
      await rt.removePod(pod.id);
    } finally {
      await d.close();
    }
  }, 60_000);

  it('the stream dropped: lists every cycle until it is back, a list after it reopens, then no call again; said once each way', async () => {
    const p = await proxy(double.socketPath);
    const { log, count, lines } = logger();
    const d = watching(p.socketPath, 1000, log);
    try {
      const pod = await rt.runPod({ name: 'dropped', containers: [{ name: 'main' }] });
      await d.discover(signal());
      await until(() => count(FOLLOWING) === 1);
      await d.discover(signal());
      double.dropStreams();
      await until(() => count(LOST) === 1);
      let before = p.calls.length;
      const r = await d.discover(signal());
      expect(r.errors).toEqual([]);
      expect(has(r, pod)).toBe(true);
      expect(p.calls.slice(before).filter((m) => m.startsWith('List')).sort()).toEqual(['ListContainers', 'ListPodSandbox']);
      await until(() => count(FOLLOWING) === 2); // reopened (backoff 250 ms) and lasted a second
      before = p.calls.length;
      await d.discover(signal());
      expect(p.calls.slice(before).sort()).toEqual(['ListContainers', 'ListPodSandbox']); // the list after the reopen
      before = p.calls.length;
      expect(has(await d.discover(signal()), pod)).toBe(true);
      expect(p.calls.slice(before)).toEqual([]);
      expect(p.calls.filter((m) => m === 'GetContainerEvents')).toHaveLength(2);
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
      await rt.removePod(pod.id);
    } finally {
      await d.close();
    }
  }, 60_000);

  it('a full list every resync_cycles cycles', async () => {
    const p = await proxy(double.socketPath);
    const { log, count } = logger();
    const d = watching(p.socketPath, 3, log);
    try {
      await d.discover(signal());
      await until(() => count(FOLLOWING) === 1);
      const listed: boolean[] = [];
      for (let i = 0; i < 7; i++) {
        const before = p.calls.length;
        await d.discover(signal());
        listed.push(p.calls.slice(before).includes('ListPodSandbox'));
      }
      expect(listed).toEqual([true, false, false, true, false, false, true]);
    } finally {
      await d.close();
    }
  }, 60_000);
});
