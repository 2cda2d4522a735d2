// Identity reuse on the real kernel, under a running agent daemon (procfs discovery):
// - a network namespace inode is reused: namespace inodes come from an allocator that hands out
//   the lowest free number, so a namespace made after another died usually gets its inode (seen
//   here within a second). The new namespace must start afresh in every sink that keeps state:
//   no StatsD counter increment against the old namespace's value, a new OTLP start time.
// - a pid is reused: /proc/sys/kernel/ns_last_pid makes the next fork get a chosen pid. A process
//   with the dead one's pid, in another namespace and another pod, must never carry the dead
//   one's container, pod, or filter decision.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { describeRoot } from '../helpers/env';
import { AgentRun, Doc, DocTarget } from '../helpers/agent-run';
import { NetnsProc, spawnInNetns } from '../helpers/netns';
import { UdpCapture } from '../helpers/statsd-server';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { Mix } from '../helpers/sockmix';
import { exclusiveNamespaces, exclusivePids } from '../helpers/exclusive';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const live: NetnsProc[] = [];

async function inNetns(mix: Mix): Promise<NetnsProc> {
  const p = await spawnInNetns(mix);
  live.push(p);
  return p;
}

/**
 * Another process on the host (a container another suite starts) took the inode or pid the test
 * waits for: the kernel's choice, not the agent's fault. The scenario is run again afresh.
 */
class Taken extends Error {}
const ATTEMPTS = 6;

/**
 * A new namespace holding `mix` with the dead namespace's `inode`. The allocator hands out the
 * lowest free inode, so namespaces that get a lower one are kept (until the test ends) to fill
 * the gaps; one that gets a higher one means `inode` is not cleaned up yet (asynchronous).
 */
async function takeInode(inode: number, mix: Mix, ms = 15_000): Promise<NetnsProc> {
  const end = Date.now() + ms;
  for (;;) {
    const p = await inNetns(mix);
    if (p.netnsInode === inode) return p;
    if (p.netnsInode < inode) continue;
    await p.kill();
    if (Date.now() > end) throw new Taken(`no new namespace got inode ${inode} within ${ms} ms`);
    await sleep(200);
  }
}

/**
 * sockmix in a new namespace with exactly `pid` (or, without one, some pid chosen here, returned as
 * the process's): ns_last_pid = pid - 2 makes unshare pid - 1 and its child (sockmix) pid; both
 * are in the namespace. A fork elsewhere on the host can take the pid first: then try again.
 * With `inode`, also wait (up to 10 s) for the namespace allocator to hand that inode out again.
 */
async function atPid(want: number | undefined, mix: Mix, before: (p: NetnsProc) => void, inode?: number): Promise<NetnsProc> {
  const end = Date.now() + 10_000;
  const got: number[] = [];
  for (;;) {
    const pid = want ?? freePidPair();
    fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 2));
    const p = await inNetns(mix);
    if (p.pid === pid && (inode === undefined || p.netnsInode === inode)) {
      before(p);
      return p;
    }
    got.push(p.pid);
    await p.kill();
    // Ours are gone now: a process at pid - 1 or pid is someone else's, and keeps it.
    if (want !== undefined && (fs.existsSync(`/proc/${want - 1}`) || fs.existsSync(`/proc/${want}`))) {
      throw new Taken(`pid ${want - 1} or ${want} is held by another process`);
    }
    if (Date.now() > end) {
      const why = `could not start a process with pid ${pid}${inode ? ` in a namespace with inode ${inode}` : ''}: got ${got.slice(-10)}`;
      throw inode ? new Taken(why) : new Error(why);
    }
    if (p.pid === pid) await sleep(100);
  }
}

/** Makes `inode` the lowest free namespace inode: takeInode, then frees it again (cleaned up within a second). */
async function holdInodesBelow(inode: number): Promise<void> {
  await (await takeInode(inode, {})).kill();
  await sleep(1000);
}

/**
 * A pid that, with the one before it, belongs to no process or thread, well ahead of the pids the
 * host hands out next (ns_last_pid), so no ordinary fork takes it while the test runs.
 */
function freePidPair(): number {
  const last = Number(fs.readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
  const max = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  for (;;) {
    const pid = 1000 + ((last + 2000 + Math.floor(Math.random() * 2000)) % (max - 1000));
    if (!fs.existsSync(`/proc/${pid}`) && !fs.existsSync(`/proc/${pid - 1}`)) return pid;
  }
}

/** A kubelet-style cgroup (v1 pids hierarchy) that procfs discovery reads a container and pod from. */
function podCgroup(podUid: string, id: string) {
  const dir = `/sys/fs/cgroup/pids/kubepods/besteffort/pod${podUid}/${id}`;
  fs.mkdirSync(dir, { recursive: true });
  return {
    id,
    podUid,
    enter: (pid: number) => fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid)),
    remove: () => {
      for (let d = dir; d !== '/sys/fs/cgroup/pids/kubepods'; d = path.dirname(d)) {
        try {
          fs.rmdirSync(d);
        } catch {
          return; // still in use (another pod of a parallel run) or already gone
        }
      }
    },
  };
}

/** unshare (pid - 1) is in the namespace too: both processes go into the pod's cgroup. */
const enterBoth = (cg: { enter(pid: number): void }) => (p: NetnsProc) => [p.pid - 1, p.pid].forEach((x) => cg.enter(x));
const ours = (pid: number) => (t: DocTarget) => t.pid === pid || t.pid === pid - 1;

const targetOf = (d: Doc, netns: number): DocTarget | undefined => d.targets.find((t) => t.netns === netns);

describeRoot('identity reuse on the real kernel (procfs discovery, daemon)', () => {
  const agents: AgentRun[] = [];
  let release: (() => void) | undefined;
  let releasePids: (() => void) | undefined;
  beforeAll(async () => {
    release = await exclusiveNamespaces(); // no other suite's namespaces take the freed inodes
    releasePids = await exclusivePids(); // it sets ns_last_pid
  }, 620_000);
  afterAll(() => {
    releasePids?.();
    release?.();
  });
  const reset = async () => {
    await Promise.all([...agents.splice(0).map((a) => a.stop()), ...live.splice(0).map((p) => p.kill())]);
  };
  afterEach(reset);

  /**
   * Runs a scenario up to ATTEMPTS times while another process takes the inode or pid it waits
   * for. In full runs on 2 cores a neighbouring suite's fork took one in about one attempt in four.
   */
  async function untilNotTaken(scenario: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await scenario();
      } catch (err) {
        if (!(err instanceof Taken) || attempt === ATTEMPTS) throw err;
        console.log(`attempt ${attempt}: ${err.message}; again afresh`);
        await reset();
      }
    }
  }

  function agent(label: string, config: string[]): AgentRun {
    const a = AgentRun.withConfig(label, ['interval: 1', 'discovery: { mode: procfs }', ...config]);
    agents.push(a);
    return a;
  }

  it('a namespace that gets a dead namespace\'s inode starts afresh: no StatsD increment, a new OTLP start time', async () => {
    const [udp, otlp] = await Promise.all([UdpCapture.start(), OtlpReceiver.start()]);
    try {
      await untilNotTaken(async () => {
        udp.clear();
        otlp.requests.length = 0;
        const a = agent('inode-reuse', [
          'sinks:',
          `  statsd: { enabled: true, host: 127.0.0.1, port: ${udp.port} }`,
          `  otlp: { enabled: true, endpoint: "${otlp.url}", protocol: http/json }`,
        ]);
        // Old: 1 connection (tcp_active_opens 1). New: 4, so an inherited baseline would show as +3
        // and an inherited start time would pass the "value went down" check unnoticed.
        const old = await inNetns({ estab4: 1 });
        const inode = old.netnsInode;
        const seenOld = await a.waitFor('the old namespace', (d) => targetOf(d, inode) !== undefined, 0, 2);
        expect(targetOf(a.docs[seenOld], inode)!.counters.tcp_active_opens).toBe(1);
        await old.kill();
        await a.waitFor('the old namespace gone', (d) => targetOf(d, inode) === undefined, seenOld);

        await takeInode(inode, { estab4: 4 });
        const first = await a.waitFor('the new namespace', (d) => targetOf(d, inode) !== undefined && targetOf(d, inode)!.counters.tcp_active_opens === 4, seenOld);
        await a.waitFor('the new namespace again', (d) => targetOf(d, inode) !== undefined && targetOf(d, inode)!.counters.tcp_active_opens === 4, first + 1, 2);
        expect(await a.stop()).toBe(0);
        expect(targetOf(a.docs[first], inode)!.counters.tcp_active_opens).toBe(4);

        // StatsD: every increment of this namespace's active_opens, old and new, is 0 (first sight
        // of each is a baseline, and neither opened anything after it).
        const tag = `netns-${inode}`;
        const lines = udp.items.flatMap((d) => d.split('\n')).filter((l) => l.includes(tag) && /active_opens:\d+\|c/.test(l));
        expect(lines.length).toBeGreaterThanOrEqual(2);
        expect(lines.map((l) => Number(/:(\d+)\|c/.exec(l)![1]))).toEqual(lines.map(() => 0));

        // OTLP: the old series started when first seen; the new one starts when it was first seen,
        // not at the old one's start, though its value (4) is above the old one's (1).
        const points = otlp
          .metrics()
          .filter((m) => m.name === 'sockpulse.tcp.active_opens')
          .flatMap((m) => m.points)
          .filter((p) => p.attributes['network.namespace'] === tag);
        const sec = (ns: string) => Number(BigInt(ns) / 1_000_000_000n);
        const oldPts = points.filter((p) => p.value === 1);
        const newPts = points.filter((p) => p.value === 4);
        expect(oldPts.length).toBeGreaterThanOrEqual(1);
        expect(newPts.length).toBeGreaterThanOrEqual(2);
        expect(new Set(newPts.map((p) => sec(p.start)))).toEqual(new Set([a.docs[first].timestamp]));
        for (const p of oldPts) expect(sec(p.start)).toBeLessThan(a.docs[first].timestamp);
      });
    } finally {
      await Promise.all([udp.close(), otlp.close()]);
    }
  }, 240_000); // up to ATTEMPTS attempts (untilNotTaken)

  it('a reused pid in another namespace and pod never carries the old process\'s container, pod or filter decision', async () => {
    const [podOld, podNew] = [randomUUID(), randomUUID()];
    const cgOld = podCgroup(podOld, randomBytes(32).toString('hex'));
    const cgNew = podCgroup(podNew, randomBytes(32).toString('hex'));
    try {
      await untilNotTaken(async () => {
        // The old pod is filtered out, so its namespace is never read: nothing of the agent's holds
        // it, and once its process exits both its pid and its inode are free at once.
        const a = agent('pid-reuse', [`filters: { exclude_labels: ["io.kubernetes.pod.uid=${podOld}"] }`]);
        const old = await atPid(undefined, { listen4: 1 }, enterBoth(cgOld));
        const pid = old.pid;
        const inode = old.netnsInode;
        // Unfiltered, one cycle (the process exits, holding nothing): the old pod as discovery sees it.
        const once = new AgentRun('pid-reuse/once', ['--once', '--discovery', 'procfs']);
        await once.waitFor('one document', () => true, 0);
        await once.stop();
        expect(targetOf(once.docs[0], inode)?.labels).toMatchObject({ pod_uid: podOld, container_id: cgOld.id.slice(0, 12) });
        const mark = await a.cycles(2, 0);

        // Between two cycles (the agent stopped): the old process exits, a new one gets its pid, the
        // old namespace's inode (in a new namespace) and the new pod's cgroup.
        a.child.kill('SIGSTOP');
        await old.kill();
        await holdInodesBelow(inode);
        const fresh = await atPid(pid, { listen4: 2 }, enterBoth(cgNew), inode);
        a.child.kill('SIGCONT');
        const isNew = (d: Doc) => d.targets.some((t) => ours(pid)(t) && t.netns === fresh.netnsInode);
        const aNew = await a.waitFor('the new process', isNew, mark);
        await a.cycles(2, aNew + 1);
        expect(await a.stop()).toBe(0);

        // Before: the filtered pod never appears. After: the new process in every cycle, with its
        // own namespace, pod and container, and its own numbers.
        expect(a.docs.slice(0, mark + 1).some((d) => d.targets.some(ours(pid)))).toBe(false);
        for (const d of a.docs.slice(aNew)) {
          const t = d.targets.find(ours(pid));
          expect(t).toMatchObject({ netns: fresh.netnsInode, labels: { pod_uid: podNew, container_id: cgNew.id.slice(0, 12) } });
          expect(t!.stats.inuse).toBe(2);
        }
        expect(fresh.netnsInode).toBe(inode);
      });
    } finally {
      cgOld.remove();
      cgNew.remove();
    }
  }, 240_000); // up to ATTEMPTS attempts (untilNotTaken)
});
