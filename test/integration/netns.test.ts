// Real kernel, real sockets: namespaces made with `unshare -n` hold a known mix of sockets and
// the agent must report exactly what the kernel keeps for each of them.
import * as fs from 'fs';
import { CollectStage } from '../../src/collect/stage';
import { ProcfsDiscovery } from '../../src/discover/procfs';
import { Target } from '../../src/core/model';
import { namespaceValues } from '../../src/core/stats';
import { describeRoot } from '../helpers/env';
import { NetnsProc, spawnInNetns } from '../helpers/netns';
import { Mix, expectedStats } from '../helpers/sockmix';

const discovery = new ProcfsDiscovery({ procRoot: '/proc', copyLabels: [], filter: () => true, hasIncludeFilter: false });
const collect = new CollectStage('/proc');

async function discoverOne(netns: number): Promise<Target> {
  const found = await discovery.discover();
  const t = found.targets.find((x) => x.netns === netns);
  if (!t) throw new Error(`netns ${netns} not discovered`);
  return t;
}

function statsOf(target: Target): Record<string, number> {
  const out = collect.run([target]);
  expect(out.errors).toEqual([]);
  expect(out.results).toHaveLength(1);
  return Object.fromEntries(namespaceValues(out.results[0]));
}

// conntrack is loaded on this kernel and nothing in these namespaces needs it: exactly 0 entries.
const core = (e: ReturnType<typeof expectedStats>) => ({
  established: e.established,
  inuse: e.inuse,
  timewait: e.timewait,
  total: e.total,
  udp: e.udp,
  conntrack_entries: 0,
});

describeRoot('network namespaces on the real kernel', () => {
  const procs: NetnsProc[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
  });
  const spawn = async (mix: Mix) => {
    const p = await spawnInNetns(mix);
    procs.push(p);
    return p;
  };

  it.each<[string, Mix]>([
    ['an empty namespace', {}],
    ['listeners only', { listen4: 3, listen6: 2 }],
    ['established v4 and v6', { estab4: 4, estab6: 3 }],
    ['TIME_WAIT v4 and v6', { timewait4: 5, timewait6: 2 }],
    ['CLOSE_WAIT', { closewait4: 2, closewait6: 1 }],
    ['UDP v4 and v6 plus unix sockets', { udp4: 3, udp6: 2, unix: 2 }],
    ['everything at once', { listen4: 2, listen6: 1, estab4: 3, estab6: 2, timewait4: 2, timewait6: 1, closewait4: 1, udp4: 2, udp6: 1, unix: 1 }],
  ])('reports exact numbers for %s', async (_name, mix) => {
    const p = await spawn(mix);
    const target = await discoverOne(p.netnsInode);
    expect(target.scope).toBe('netns');
    const stats = statsOf(target);
    // orphan: the namespace's own count (read from its socket tables when the host has orphans).
    expect(stats).toEqual({ ...core(expectedStats(mix, 'netns')), orphan: 0 });
  });

  it('reports the namespace\'s own snmp counters: one active and one passive open per connection', async () => {
    const mix: Mix = { estab4: 3, estab6: 2, timewait4: 4, closewait4: 1 };
    const p = await spawn(mix);
    const out = collect.run([await discoverOne(p.netnsInode)]);
    const counters = Object.fromEntries(namespaceValues(out.results[0], 'counter'));
    expect(counters).toMatchObject({ tcp_active_opens: 10, tcp_passive_opens: 10, tcp_attempt_fails: 0, udp_no_ports: 0 });
    expect(out.results[0].samples.filter((s) => s.def.kind === 'counter').every((s) => s.def.scope === 'namespace')).toBe(true);
  });

  it('keeps namespaces apart: each sees only its own sockets', async () => {
    const a = await spawn({ estab4: 7 });
    const b = await spawn({ udp4: 9 });
    const found = await discovery.discover();
    const ta = found.targets.find((t) => t.netns === a.netnsInode)!;
    const tb = found.targets.find((t) => t.netns === b.netnsInode)!;
    const out = collect.run([ta, tb]);
    const [sa, sb] = out.results.map((r) => Object.fromEntries(namespaceValues(r)));
    expect(sa).toEqual({ ...core(expectedStats({ estab4: 7 })), orphan: 0 });
    expect(sb).toEqual({ ...core(expectedStats({ udp4: 9 })), orphan: 0 });
  });

  it('reports the host once, with the host-wide numbers on it alone', async () => {
    const p = await spawn({ listen4: 1 });
    const found = await discovery.discover();
    const out = collect.run(found.targets);
    const hosts = out.results.filter((r) => r.target.scope === 'host');
    expect(hosts).toHaveLength(1);
    expect(hosts[0].samples.filter((s) => s.def.scope === 'host').map((s) => s.def.key).sort()).toEqual(['conntrack_max', 'orphan', 'tcp_alloc', 'tcp_mem_pages', 'udp_mem_pages']);
    for (const r of out.results.filter((x) => x.target.scope !== 'host')) expect(r.samples.some((s) => s.def.scope === 'host')).toBe(false);
    expect(out.results.some((r) => r.target.netns === p.netnsInode)).toBe(true);
  });

  it('never reads a namespace through a kept descriptor once its process has left, and releases it', async () => {
    const stage = new CollectStage('/proc');
    const p = await spawn({ listen4: 2 });
    const target = await discoverOne(p.netnsInode);
    const keptFor = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).includes(`/proc/${p.pid}/net/`);
      } catch {
        return false;
      }
    });
    expect(stage.run([target]).results).toHaveLength(1);
    const before = fs.readdirSync('/proc/self/fd').length;
    expect(stage.run([target]).results).toHaveLength(1); // second cycle re-reads the kept files
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
    await p.kill();
    // The kept descriptors still hold the dead namespace; the target must be a skip, not numbers.
    expect(stage.run([target])).toMatchObject({ results: [], errors: [], skipped: [target] });
    stage.run([]); // a cycle without the target closes whatever it still held
    expect(keptFor()).toEqual([]);
    expect(fs.readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(before - 3);
  });

  it('skips a namespace whose process exits between discovery and reading, without an error', async () => {
    const p = await spawn({ listen4: 1 });
    const target = await discoverOne(p.netnsInode);
    await p.kill();
    const out = collect.run([target]);
    expect(out).toMatchObject({ results: [], errors: [], skipped: [target] });
  });
});
