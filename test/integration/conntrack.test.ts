// Real kernel, real conntrack: an nftables rule in a namespace the test makes
// (`ct state established,related accept` in an input chain) makes conntrack track that
// namespace's connections; the collector must report exactly how many, per namespace.
// One entry per connection whatever its TCP state while it lasts: ESTABLISHED pairs over
// loopback, and a connection closed into TIME_WAIT (conntrack keeps it 120 s).
import * as fs from 'fs';
import { CollectStage, activeCollector } from '../../src/collect/stage';
import { conntrack } from '../../src/collect/conntrack';
import { ProcfsDiscovery } from '../../src/discover/procfs';
import { Target, TargetSamples } from '../../src/core/model';
import { describeRoot } from '../helpers/env';
import { NetnsProc, spawnInNetns } from '../helpers/netns';
import { Mix } from '../helpers/sockmix';

const RULE = `nft 'add table inet sockpulse_test; add chain inet sockpulse_test in { type filter hook input priority 0; }; add rule inet sockpulse_test in ct state established,related accept'`;
const discovery = new ProcfsDiscovery({ procRoot: '/proc', copyLabels: [], filter: () => true, hasIncludeFilter: false });

const values = (r: TargetSamples | undefined): Record<string, number> => Object.fromEntries((r?.samples ?? []).map((s) => [s.def.key, s.value]));

describeRoot('conntrack per namespace on the real kernel', () => {
  const procs: NetnsProc[] = [];
  const stage = new CollectStage('/proc', [activeCollector(conntrack)]);
  afterAll(async () => {
    stage.close();
    await Promise.all(procs.map((p) => p.kill()));
  });
  const spawn = async (mix: Mix, before?: string): Promise<NetnsProc> => {
    const p = await spawnInNetns(mix, 10_000, before);
    procs.push(p);
    return p;
  };

  it('counts exactly the connections the rule makes it track, and 0 where nothing needs tracking', async () => {
    const tracked = await spawn({ estab4: 3, estab6: 2, timewait4: 1, listen4: 2, udp4: 1 }, RULE);
    const untracked = await spawn({ estab4: 4 });
    const found = await discovery.discover();
    const pick = (p: NetnsProc): Target => {
      const t = found.targets.find((x) => x.netns === p.netnsInode);
      if (!t) throw new Error(`netns ${p.netnsInode} not discovered`);
      return t;
    };
    const host = found.targets.find((t) => t.scope === 'host')!;
    const out = stage.run([host, pick(tracked), pick(untracked)]);
    expect(out.errors).toEqual([]);
    const byNetns = new Map(out.results.map((r) => [r.target.netns, r]));

    // 3 + 2 established connections and 1 in TIME_WAIT; listeners and an unused UDP socket are not connections.
    expect(values(byNetns.get(tracked.netnsInode)).conntrack_entries).toBe(6);
    // Conntrack is loaded, but no rule in this namespace needs it: a true 0.
    expect(values(byNetns.get(untracked.netnsInode)).conntrack_entries).toBe(0);

    // The counters this kernel prints, found by header name, are each namespace's own.
    const header = fs.readFileSync(`/proc/${tracked.pid}/net/stat/nf_conntrack`, 'latin1').split('\n')[0].trim().split(/\s+/);
    const wanted = ['found', 'insert_failed', 'drop', 'early_drop', 'search_restart'].filter((c) => header.includes(c));
    expect(wanted.length).toBeGreaterThan(0);
    for (const r of out.results) {
      const v = values(r);
      for (const c of wanted) expect(Number.isSafeInteger(v[`conntrack_${c}`]) && v[`conntrack_${c}`] >= 0).toBe(true);
      expect('conntrack_max' in v).toBe(r.target.scope === 'host'); // host-wide: the host only
    }
    expect(values(byNetns.get(host.netns)).conntrack_max).toBe(Number(fs.readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'latin1').trim()));
  });

  it('two namespaces with the rule each count their own connections', async () => {
    const a = await spawn({ estab4: 1 }, RULE);
    const b = await spawn({ estab4: 5, estab6: 1 }, RULE);
    const found = await discovery.discover();
    const out = stage.run(found.targets.filter((t) => t.netns === a.netnsInode || t.netns === b.netnsInode));
    const byNetns = new Map(out.results.map((r) => [r.target.netns, values(r).conntrack_entries]));
    expect(byNetns.get(a.netnsInode)).toBe(1);
    expect(byNetns.get(b.netnsInode)).toBe(6);
  });
});
