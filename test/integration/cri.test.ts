// A real containerd speaking CRI (started privately, test/helpers/private-containerd.ts), with pods
// run through the CRI API as a kubelet would: the agent must find each pod sandbox's namespace,
// name it namespace/pod with its containers, report exactly what the kernel keeps for it, and
// ask the runtime only List/Status/Version — two list calls a cycle once every pod is known.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import { CollectStage } from '../../src/collect/stage';
import { createLogger } from '../../src/core/log';
import { DiscoveryResult, Target } from '../../src/core/model';
import { namespaceValues } from '../../src/core/stats';
import { createDiscovery } from '../../src/discover/build';
import { DiscoveryOptions } from '../../src/discover/common';
import { CriClient } from '../../src/discover/cri/client';
import { CriDiscovery } from '../../src/discover/cri/discovery';
import { cri } from '../../src/discover/cri/plugin';
import { CriConfig } from '../../src/discover/cri/settings';
import { procfs } from '../../src/discover/procfs';
import { compileFilters } from '../../src/discover/filters';
import { BIN, Doc } from '../helpers/agent-run';
import { describeRoot, requireTool } from '../helpers/env';
import { GrpcProxy, startGrpcProxy } from '../helpers/grpc-proxy';
import { Pod, PrivateContainerd, leftovers } from '../helpers/private-containerd';
import { Mix, expectedStats } from '../helpers/sockmix';

const collect = new CollectStage('/proc');
const core = (e: ReturnType<typeof expectedStats>) => ({ established: e.established, inuse: e.inuse, timewait: e.timewait, total: e.total, udp: e.udp });
const statsOf = (t: Target) => {
  const out = collect.run([t]);
  expect(out.errors).toEqual([]);
  return Object.fromEntries(namespaceValues(out.results[0]));
};
const shared = (copyLabels: string[] = []): DiscoveryOptions => ({
  procRoot: '/proc',
  copyLabels,
  filter: compileFilters({ include_names: [], exclude_names: [], include_labels: [], exclude_labels: [] }),
  hasIncludeFilter: false,
});
const config = (socket: string): CriConfig => ({ sockets: [socket], configured: true, timeoutMs: 5000, statusConcurrency: 4 });
function logger(): { log: ReturnType<typeof createLogger>; lines: () => { msg: string; [k: string]: unknown }[] } {
  const out: string[] = [];
  const log = createLogger('debug', new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }));
  return { log, lines: () => out.map((l) => JSON.parse(l)) };
}
const podTarget = (r: DiscoveryResult, pod: Pod): Target | undefined => r.targets.find((t) => t.containers.some((c) => c.id === pod.id));
const READ_ONLY = /^(List\w+|\w*Status|Version)$/;

const containerd = requireTool('containerd', spawnSync('containerd', ['--version']).status === 0, 'apt-get install containerd (test/setup/deps-containerd.sh)');
const describeCri = (name: string, fn: () => void): void => (containerd.present ? describeRoot(name, fn) : containerd.describe(name, fn));

describeCri('CRI discovery on a real containerd', () => {
  let rt: PrivateContainerd;
  let proxy: GrpcProxy;
  let discovery: CriDiscovery;
  let logs: ReturnType<typeof logger>;
  const signal = () => AbortSignal.timeout(15_000);

  beforeAll(async () => {
    rt = await PrivateContainerd.create();
    proxy = await startGrpcProxy(rt.socketPath);
    logs = logger();
    discovery = new CriDiscovery(config(proxy.socketPath), shared(['app']), logs.log);
  }, 120_000);
  afterAll(async () => {
    await discovery?.close();
    await proxy?.close();
    if (rt) {
      await rt.destroy();
      expect(leftovers(rt)).toEqual([]);
    }
  }, 120_000);
  afterEach(() => {
    expect(proxy.calls.filter((m) => !READ_ONLY.test(m))).toEqual([]);
  });

  it('a pod (pause sandbox + two containers) is one target: namespace/pod, both containers, its IP, exact numbers', async () => {
    const mix: Mix = { listen4: 2, listen6: 1, estab4: 3, estab6: 2, timewait4: 2, udp4: 2, udp6: 1, unix: 1 };
    const pod = await rt.runPod({ name: 'web-0', namespace: 'shop', labels: { app: 'web' }, containers: [{ name: 'server', mix }, { name: 'sidecar' }] });
    await rt.waitReady(pod, 'server');
    const r = await discovery.discover(signal());
    expect(r.errors).toEqual([]);
    expect(r.down).toBeUndefined();
    const t = podTarget(r, pod)!;
    expect(t).toBeDefined();
    expect(t.scope).toBe('container');
    expect(t.labels).toMatchObject({ pod: 'web-0', namespace: 'shop', pod_uid: pod.uid, kube_container: 'server,sidecar', container: 'server,sidecar', app: 'web' });
    expect(t.containers.map((c) => c.id).sort()).toEqual([pod.id, ...pod.containers.map((c) => c.id)].sort());
    expect(t.ips).toEqual([pod.ip]);
    expect(pod.ip).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(t.netns).toBe(fs.statSync(`/proc/${pod.pid}/ns/net`).ino);
    expect(core(statsOf(t) as never)).toEqual(core(expectedStats(mix, 'netns')));
    expect(logs.lines().some((l) => /info\.pid/.test(l.msg) && l.via === 'info')).toBe(true);
    await rt.removePod(pod.id);
  });

  it('steady state: exactly one ListPodSandbox and one ListContainers a cycle, no status call', async () => {
    const pods = await Promise.all([1, 2, 3].map((i) => rt.runPod({ name: `steady-${i}`, containers: [{ name: 'main' }] })));
    await discovery.discover(signal()); // learns the new pods: one status each
    for (let cycle = 0; cycle < 3; cycle++) {
      const before = proxy.calls.length;
      const r = await discovery.discover(signal());
      expect(r.errors).toEqual([]);
      for (const p of pods) expect(podTarget(r, p)).toBeDefined();
      expect(proxy.calls.slice(before).sort()).toEqual(['ListContainers', 'ListPodSandbox']);
    }
    for (const p of pods) await rt.removePod(p.id);
  });

  it('a hostNetwork pod belongs to the host target', async () => {
    const pod = await rt.runPod({ name: 'hostnet', hostNetwork: true, containers: [{ name: 'agent' }] });
    const r = await discovery.discover(signal());
    expect(r.errors).toEqual([]);
    const t = podTarget(r, pod)!;
    expect(t.scope).toBe('host');
    expect(t.netns).toBe(fs.statSync('/proc/self/ns/net').ino);
    expect(fs.statSync(`/proc/${pod.pid}/ns/net`).ino).toBe(t.netns);
    expect(r.targets.filter((x) => x.scope === 'host')).toHaveLength(1);
    expect(r.targets.some((x) => x.labels.pod === 'hostnet')).toBe(false);
    await rt.removePod(pod.id);
  });

  it('a pod removed between the list and its status call is a skip, not an error', async () => {
    const pod = await rt.runPod({ name: 'racer', containers: [{ name: 'main' }] });
    proxy.before = async (method) => {
      if (method === 'PodSandboxStatus') {
        proxy.before = undefined;
        await rt.removePod(pod.id);
      }
    };
    const before = proxy.calls.length;
    const r = await discovery.discover(signal());
    proxy.before = undefined;
    expect(proxy.calls.slice(before)).toContain('PodSandboxStatus');
    expect(r.errors).toEqual([]);
    expect(podTarget(r, pod)).toBeUndefined();
  });

  it('a pod removed between discovery and reading is a skip, not an error', async () => {
    const pod = await rt.runPod({ name: 'leaver', containers: [{ name: 'main' }] });
    const r = await discovery.discover(signal());
    const t = podTarget(r, pod)!;
    expect(t).toBeDefined();
    await rt.removePod(pod.id);
    const out = collect.run([t]);
    expect(out.errors).toEqual([]);
    expect(out.results).toEqual([]);
    expect(out.skipped).toHaveLength(1);
    const next = await discovery.discover(signal());
    expect(next.errors).toEqual([]);
    expect(podTarget(next, pod)).toBeUndefined();
  });

  it('a pod created after discovery started is found in the next cycle', async () => {
    const first = await discovery.discover(signal());
    expect(first.errors).toEqual([]);
    const pod = await rt.runPod({ name: 'late', containers: [{ name: 'main' }] });
    const r = await discovery.discover(signal());
    expect(podTarget(r, pod)?.labels).toMatchObject({ pod: 'late', namespace: 'default', kube_container: 'main' });
    await rt.removePod(pod.id);
  });

  it('a runtime that gives no pid in its verbose status: the pid is found by a /proc cgroup scan, and the log says so', async () => {
    const pod = await rt.runPod({ name: 'nopid', containers: [{ name: 'main' }] });
    const { log, lines } = logger();
    // The same runtime, its verbose `info` emptied (as a runtime that reports none).
    const withoutPid = (socket: string, timeout: number): CriClient => {
      const c = new CriClient(socket, timeout);
      const status = c.sandboxStatus.bind(c);
      c.sandboxStatus = async (id, sig) => ({ ...(await status(id, sig)), info: {} });
      return c;
    };
    const d = new CriDiscovery(config(rt.socketPath), shared(), log, withoutPid);
    try {
      const r = await d.discover(signal());
      expect(r.errors).toEqual([]);
      const t = podTarget(r, pod)!;
      expect(t.pid).toBe(pod.pid);
      expect(t.labels).toMatchObject({ pod: 'nopid', kube_container: 'main' });
      expect(lines().find((l) => l.via === 'cgroup')?.msg).toMatch(/cgroup scan/);
      expect(lines().some((l) => l.via === 'info')).toBe(false);
    } finally {
      await d.close();
      await rt.removePod(pod.id);
    }
  });

  it('auto: a CRI socket that answers is used', async () => {
    const { log, lines } = logger();
    const d = createDiscovery({ mode: 'auto', shared: shared(), sections: new Map([['cri', config(rt.socketPath)]]) }, log, [cri, procfs]);
    const r = await d.discover(signal());
    expect(r.source).toBe('cri');
    expect(lines().find((l) => l.discovery === 'cri')?.msg).toBe('discovering containers through cri');
    await d.close?.();
  });

  it('containerd stopped: ECRIDOWN and the host only; restarted: the same pods again, with no status call', async () => {
    const pod = await rt.runPod({ name: 'survivor', containers: [{ name: 'main' }] });
    const known = await discovery.discover(signal());
    expect(podTarget(known, pod)).toBeDefined();
    // Also one straight on the socket: grpc-js's own reconnect (backoff at most 5 s, client.ts).
    const direct = new CriDiscovery(config(rt.socketPath), shared(), logger().log);
    expect(podTarget(await direct.discover(signal()), pod)).toBeDefined();
    await rt.stop();
    expect((await direct.discover(signal())).errors.map((e) => e.code)).toEqual(['ECRIDOWN']);
    try {
      const down = await discovery.discover(signal());
      expect(down.errors.map((e) => e.code)).toEqual(['ECRIDOWN']);
      expect(down.down).toBeDefined();
      expect(down.targets.map((t) => t.scope)).toEqual(['host']);
    } finally {
      await rt.start();
    }
    // Reconnecting may take a moment (the proxy opens a new upstream session): retry a few cycles.
    let r: DiscoveryResult | undefined;
    const before = proxy.calls.length;
    for (let i = 0; i < 20 && (r === undefined || r.down !== undefined); i++) {
      if (r) await new Promise((res) => setTimeout(res, 500));
      r = await discovery.discover(signal());
    }
    expect(r!.down).toBeUndefined();
    expect(r!.errors).toEqual([]);
    expect(podTarget(r!, pod)?.pid).toBe(pod.pid);
    expect(proxy.calls.slice(before).filter((m) => m === 'PodSandboxStatus')).toEqual([]);
    const t0 = Date.now();
    let d: DiscoveryResult;
    while ((d = await direct.discover(signal())).down !== undefined && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 250));
    expect(d.down).toBeUndefined();
    expect(podTarget(d, pod)?.pid).toBe(pod.pid);
    await direct.close();
    await rt.removePod(pod.id);
  }, 60_000);

  it('the built CLI (--once --format json --discovery cri) shows the pod', async () => {
    const pod = await rt.runPod({ name: 'cli-pod', namespace: 'team', containers: [{ name: 'main' }] });
    const r = spawnSync(process.execPath, [BIN, '--once', '--format', 'json', '--discovery', 'cri'], {
      encoding: 'utf8',
      env: { ...process.env, CONTAINER_RUNTIME_ENDPOINT: `unix://${rt.socketPath}` },
      timeout: 30_000,
    });
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.cycle.discovery).toBe('cri');
    expect(doc.errors).toEqual([]);
    const t = doc.targets.find((x) => x.labels.pod === 'cli-pod')!;
    expect(t).toBeDefined();
    expect(t.labels).toMatchObject({ namespace: 'team', kube_container: 'main' });
    expect((t as unknown as { ips: string[] }).ips).toEqual([pod.ip]);
    await rt.removePod(pod.id);
  });
});

describeRoot('CRI socket absent or not answering', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spcx-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('cri mode: ECRIDOWN and the host target only, for a missing socket and for a dead one', async () => {
    const missing = new CriDiscovery(config(path.join(dir, 'missing.sock')), shared(), logger().log);
    const r = await missing.discover(AbortSignal.timeout(10_000));
    expect(r.errors.map((e) => e.code)).toEqual(['ECRIDOWN']);
    expect(r.down).toMatch(/missing\.sock/);
    expect(r.targets.map((t) => t.scope)).toEqual(['host']);

    const dead = await deadSocket(path.join(dir, 'dead.sock'));
    const refused = new CriDiscovery(config(dead), shared(), logger().log);
    const t0 = Date.now();
    const r2 = await refused.discover(AbortSignal.timeout(10_000));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r2.errors.map((e) => e.code)).toEqual(['ECRIDOWN']);
    expect(r2.targets.map((t) => t.scope)).toEqual(['host']);
    await refused.close();
  });

  it('cri mode: a runtime that accepts but never answers is ECRIDOWN within cri.timeout', async () => {
    const hung = path.join(dir, 'hung.sock');
    const sockets = new Set<net.Socket>();
    const server = net.createServer((c) => sockets.add(c)); // accepts, never speaks HTTP/2
    await new Promise<void>((resolve) => server.listen(hung, resolve));
    const d = new CriDiscovery({ ...config(hung), timeoutMs: 1000 }, shared(), logger().log);
    try {
      const t0 = Date.now();
      const r = await d.discover(AbortSignal.timeout(10_000));
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(r.errors.map((e) => e.code)).toEqual(['ECRIDOWN']);
      expect(r.down).toMatch(/no answer within 1 s \(cri\.timeout\)/);
      expect(r.targets.map((t) => t.scope)).toEqual(['host']);
    } finally {
      await d.close();
      for (const c of sockets) c.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('auto: no CRI socket → every namespace under /proc, with a log line saying why', async () => {
    const { log, lines } = logger();
    const cfg = config(path.join(dir, 'nothing.sock'));
    const d = createDiscovery({ mode: 'auto', shared: shared(), sections: new Map([['cri', cfg]]) }, log, [cri, procfs]);
    const r = await d.discover(AbortSignal.timeout(10_000));
    expect(r.source).toBe('procfs');
    expect(r.errors).toEqual([]);
    const line = lines().find((l) => l.discovery === 'procfs')!;
    expect(line.msg).toMatch(/no container runtime answering/);
    expect(line.reason).toMatch(/no CRI socket at .*nothing\.sock/);
    await d.close?.();
  });

  it('auto: a CRI socket that refuses connections hands over to /proc, saying why', async () => {
    const { log, lines } = logger();
    const cfg = config(await deadSocket(path.join(dir, 'refusing.sock')));
    const d = createDiscovery({ mode: 'auto', shared: shared(), sections: new Map([['cri', cfg]]) }, log, [cri, procfs]);
    const r = await d.discover(AbortSignal.timeout(10_000));
    expect(r.source).toBe('procfs');
    expect(lines().find((l) => l.discovery === 'procfs')?.reason).toMatch(/CRI runtime at .*refusing\.sock did not answer/);
    await d.close?.();
  });
});

/** A socket file nobody listens on (its server was killed): connections are refused. */
async function deadSocket(file: string): Promise<string> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  expect(fs.existsSync(file)).toBe(true);
  return file;
}
