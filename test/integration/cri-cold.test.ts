// A cold cycle with several new pods on a real containerd: one /proc scan finds their pause
// processes (sandbox-scan.ts), so the recording proxy sees no status call for them; a pod whose
// pause the scan cannot place (moved to a cgroup that names no sandbox, as a runtime with unknown
// cgroup paths would leave it) and a hostNetwork pod are still asked by status and found as before.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { Writable } from 'stream';
import { createLogger } from '../../src/core/log';
import { DiscoveryResult, Target } from '../../src/core/model';
import { DiscoveryOptions } from '../../src/discover/common';
import { CriDiscovery } from '../../src/discover/cri/discovery';
import { ScanRule } from '../../src/discover/cri/sandbox-scan';
import { compileFilters } from '../../src/discover/filters';
import { moveToCgroup } from '../helpers/cgroup-move';
import { describeRoot, requireTool } from '../helpers/env';
import { exclusivePids } from '../helpers/exclusive';
import { GrpcProxy, startGrpcProxy } from '../helpers/grpc-proxy';
import { Pod, PrivateContainerd, leftovers } from '../helpers/private-containerd';

const shared: DiscoveryOptions = {
  procRoot: '/proc',
  copyLabels: ['app'],
  filter: compileFilters({ include_names: [], exclude_names: [], include_labels: [], exclude_labels: [] }),
  hasIncludeFilter: false,
};
/** Scans from 4 new pods whatever the host's process count (the default also weighs that). */
const ALWAYS: ScanRule = { minNew: 4, procsPerStatus: Number.MAX_SAFE_INTEGER };
const podTarget = (r: DiscoveryResult, pod: Pod): Target | undefined => r.targets.find((t) => t.containers.some((c) => c.id === pod.id));
const READ_ONLY = /^(List\w+|\w*Status|Version)$/;

const containerd = requireTool('containerd', spawnSync('containerd', ['--version']).status === 0, 'apt-get install containerd (test/setup/deps-containerd.sh)');
const describeCri = (name: string, fn: () => void): void => (containerd.present ? describeRoot(name, fn) : containerd.describe(name, fn));

describeCri('CRI cold cycle: new pods found by a /proc scan', () => {
  let rt: PrivateContainerd;
  let proxy: GrpcProxy;
  const signal = () => AbortSignal.timeout(15_000);
  const open: CriDiscovery[] = [];
  const fresh = () => {
    const out: string[] = [];
    const log = createLogger('debug', new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }));
    const d = new CriDiscovery({ sockets: [proxy.socketPath], configured: true, timeoutMs: 5000, statusConcurrency: 4 }, shared, log, undefined, ALWAYS);
    open.push(d);
    return { d, lines: () => out.map((l) => JSON.parse(l) as { msg: string; [k: string]: unknown }) };
  };
  /** The proxy's calls made by `fn`. */
  const callsOf = async <T>(fn: () => Promise<T>): Promise<[T, string[]]> => {
    const before = proxy.calls.length;
    const out = await fn();
    return [out, proxy.calls.slice(before).filter((m) => m !== 'Version').sort()];
  };

  let releasePids: (() => void) | undefined;
  beforeAll(async () => {
    // The scan takes each namespace's first process for its pause: no suite may set ns_last_pid
    // meanwhile, and the counter must not wrap (pid_max is 32768 here) while pods are made.
    releasePids = await exclusivePids();
    const max = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    if (max - Number(fs.readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8')) < 5000) fs.writeFileSync('/proc/sys/kernel/ns_last_pid', '300');
    rt = await PrivateContainerd.create();
    proxy = await startGrpcProxy(rt.socketPath);
  }, 420_000);
  afterAll(async () => {
    releasePids?.();
    for (const d of open) await d.close();
    await proxy?.close();
    if (rt) {
      await rt.destroy();
      expect(leftovers(rt)).toEqual([]);
    }
  }, 120_000);
  afterEach(() => {
    expect(proxy.calls.filter((m) => !READ_ONLY.test(m))).toEqual([]);
  });

  it('a cold cycle with 6 new pods finds each (pid, namespace, names) with no status call', async () => {
    const pods = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => rt.runPod({ name: `cold-${i}`, namespace: 'cold', labels: { app: `a${i}` }, containers: [{ name: 'main' }, { name: 'side' }] })));
    const { d, lines } = fresh();
    const [r, calls] = await callsOf(() => d.discover(signal()));
    expect(r.errors).toEqual([]);
    expect(calls).toEqual(['ListContainers', 'ListPodSandbox']);
    for (const [i, pod] of pods.entries()) {
      const t = podTarget(r, pod)!;
      expect(t).toBeDefined();
      expect(t.scope).toBe('container');
      expect(t.pid).toBe(pod.pid);
      expect(t.netns).toBe(fs.statSync(`/proc/${pod.pid}/ns/net`).ino);
      expect(t.labels).toMatchObject({ pod: `cold-${i}`, namespace: 'cold', pod_uid: pod.uid, kube_container: 'main,side', app: `a${i}` });
      expect(t.containers.map((c) => c.id).sort()).toEqual([pod.id, ...pod.containers.map((c) => c.id)].sort());
      expect(t.ips).toEqual([pod.ip]); // the namespace's own address: what the runtime's status says
    }
    expect(lines().some((l) => l.via === 'scan')).toBe(true);
    // The next cycle is steady: the list calls only.
    const [again, steady] = await callsOf(() => d.discover(signal()));
    expect(steady).toEqual(['ListContainers', 'ListPodSandbox']);
    for (const pod of pods) expect(podTarget(again, pod)?.pid).toBe(pod.pid);
    for (const p of pods) await rt.removePod(p.id);
  }, 120_000);

  it('a pod the scan cannot place (its pause in a cgroup naming no sandbox) is asked by status and found', async () => {
    const pods = await Promise.all([0, 1, 2, 3, 4].map((i) => rt.runPod({ name: `moved-${i}`, containers: [{ name: 'main' }] })));
    moveToCgroup(pods[0].pid, `${rt.cgroupParent}/elsewhere`);
    expect(fs.readFileSync(`/proc/${pods[0].pid}/cgroup`, 'utf8')).not.toContain(pods[0].id);
    const { d, lines } = fresh();
    const [r, calls] = await callsOf(() => d.discover(signal()));
    expect(r.errors).toEqual([]);
    expect(calls).toEqual(['ListContainers', 'ListPodSandbox', 'PodSandboxStatus']);
    for (const pod of pods) {
      const t = podTarget(r, pod)!;
      expect(t.pid).toBe(pod.pid);
      expect(t.netns).toBe(fs.statSync(`/proc/${pod.pid}/ns/net`).ino);
      expect(t.labels).toMatchObject({ pod: pod.name });
    }
    expect(podTarget(r, pods[0])!.ips).toEqual([pods[0].ip]); // learned by status, as before
    const fallback = lines().find((l) => /did not find/.test(l.msg));
    expect(fallback).toMatchObject({ level: 20, found: 4, asked: 1, sandboxes: [pods[0].id.slice(0, 12)] });
    for (const p of pods) await rt.removePod(p.id);
  }, 120_000);

  it('a hostNetwork pod among new pods still belongs to the host target (its status says NODE)', async () => {
    const pods = await Promise.all([0, 1, 2, 3].map((i) => rt.runPod({ name: `mixed-${i}`, containers: [{ name: 'main' }] })));
    const host = await rt.runPod({ name: 'hostnet', hostNetwork: true, containers: [{ name: 'agent' }] });
    const { d, lines } = fresh();
    const [r, calls] = await callsOf(() => d.discover(signal()));
    expect(r.errors).toEqual([]);
    expect(calls).toEqual(['ListContainers', 'ListPodSandbox', 'PodSandboxStatus']);
    const t = podTarget(r, host)!;
    expect(t.scope).toBe('host');
    expect(t.netns).toBe(fs.statSync('/proc/self/ns/net').ino);
    expect(r.targets.filter((x) => x.scope === 'host')).toHaveLength(1);
    for (const pod of pods) expect(podTarget(r, pod)).toMatchObject({ scope: 'container', pid: pod.pid });
    expect(lines().find((l) => /did not find/.test(l.msg))).toMatchObject({ found: 4, asked: 1, sandboxes: [host.id.slice(0, 12)] });
    for (const p of [...pods, host]) await rt.removePod(p.id);
  }, 120_000);
});
