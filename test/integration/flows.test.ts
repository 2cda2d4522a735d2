// Real kernel conntrack: a "node" namespace routes between two "pod" namespaces and an "outside"
// namespace over veth pairs, with nf_conntrack_acct=1 and an nftables rule set that makes
// conntrack track. Known traffic each way over TCP and UDP; the flows collector must report
// exact bytes and packets per flow and per class, the direction, and only the delta on the next
// read. Bytes are checked by computing the headers (IPv4 20 bytes, UDP 8, TCP 20 with TCP
// timestamps off in the pods, +12 bytes of options on SYN and SYN-ACK), and the packet counts
// against the node's own nftables counters of each direction.
import { CollectStage, activeCollector } from '../../src/collect/stage';
import { flows } from '../../src/collect/flows/plugin';
import { FlowsCollector } from '../../src/collect/flows/collector';
import { parseStartTime } from '../../src/discover/proc-scan';
import { batchDocument } from '../../src/deliver/stdout/json-doc';
import { catalog } from '../../src/collect/registry';
import { Batch, Target } from '../../src/core/model';
import { FlowRecord } from '../../src/core/flows';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { BIN } from '../helpers/agent-run';
import { describeRoot } from '../helpers/env';
import { FlowNode, Peer } from '../helpers/flow-node';

const P1 = '10.200.1.2';
const P2 = '10.200.2.2';
const EXT = '10.99.0.2';
const IP = 20;
const UDP = 8;
const TCP = 20;
const SYN_OPTIONS = 12; // MSS, SACK permitted, window scale (with NOPs), timestamps off

const settle = () => new Promise((r) => setTimeout(r, 600)); // delayed ACKs have gone out

function target(ns: { pid: number; netns: number }, scope: Target['scope'], pod?: string, ips?: string[]): Target {
  const stat = fs.readFileSync(`/proc/${ns.pid}/stat`, 'latin1');
  return { netns: ns.netns, pid: ns.pid, pidStart: parseStartTime(stat)!, scope, containers: [], labels: pod ? { pod, namespace: 'test' } : {}, ...(ips ? { ips } : {}) };
}

describeRoot('flows collector on the real kernel conntrack', () => {
  const node = new FlowNode();
  let stage: CollectStage;
  let collector: FlowsCollector;
  let targets: Target[];
  let p1: Peer, p2: Peer, ext: Peer;
  let pod1: Target, pod2: Target;

  beforeAll(async () => {
    await node.build({ p1: P1, p2: P2, ext: EXT });
    const c = (comment: string, match: string) => `${match} counter comment "${comment}"`;
    node.nft([
      c('p1-p2 tcp', `ip saddr ${P1} ip daddr ${P2} tcp dport 8080`),
      c('p2-p1 tcp', `ip saddr ${P2} ip daddr ${P1} tcp sport 8080`),
      c('p1-ext tcp', `ip saddr ${P1} ip daddr ${EXT} tcp dport 8080`),
      c('ext-p1 tcp', `ip saddr ${EXT} ip daddr ${P1} tcp sport 8080`),
    ]);
    const cfg = flows.config!.resolve({
      first_read: 'baseline', zone: 'zone-a', region: '', cluster_cidrs: [], node_addresses: [],
      zone_prefixes: { 'zone-a': ['10.200.0.0/16'], 'zone-b': ['10.99.0.0/16'] }, region_prefixes: {}, cloud_service_prefixes: {}, flag_prefixes: { outside: ['10.99.0.0/16'] },
    }, {});
    const active = activeCollector(flows, cfg);
    collector = active.collector as FlowsCollector;
    stage = new CollectStage('/proc', [active]);
    // The node namespace plays the host; the pods are targets with the addresses discovery reports.
    pod1 = target(node.ns.get('p1')!, 'container', 'pod-1', [P1]);
    pod2 = target(node.ns.get('p2')!, 'container', 'pod-2', [P2]);
    targets = [target(node.ns.get('node')!, 'host'), pod1, pod2];
    [p1, p2, ext] = await Promise.all([node.peer('p1'), node.peer('p2'), node.peer('ext')]);
    await Promise.all([p2.cmd({ op: 'listen', tcp: 8080, udp: 9090 }), ext.cmd({ op: 'listen', tcp: 8080, udp: 9090 })]);
  }, 60_000);

  afterAll(async () => {
    stage?.close();
    await node.destroy();
  });

  const read = () => {
    const out = stage.run(targets);
    expect(out.errors).toEqual([]);
    return out;
  };
  const find = (t: Target, proto: string, remote: string): FlowRecord[] => collector.lastInterval!.records.filter((r) => r.local.target === t && r.proto === proto && r.remote.ip === remote);

  let before = new Map<string, { packets: number; bytes: number }>();
  const counted = (name: string) => {
    const now = node.counters().get(name)!;
    const was = before.get(name) ?? { packets: 0, bytes: 0 };
    return { packets: now.packets - was.packets, bytes: now.bytes - was.bytes };
  };

  it('first read: the baseline (nothing counted); then exact bytes and packets per flow, direction and class', async () => {
    read();
    expect(collector.lastInterval!.records).toEqual([]);

    await p1.cmd({ op: 'connect', name: 'a', host: P2, port: 8080 });
    await p1.cmd({ op: 'send', name: 'a', bytes: 3000 });
    await p2.cmd({ op: 'wait', tcp: 3000 });
    await p2.cmd({ op: 'send', bytes: 1000 });
    await p1.cmd({ op: 'wait', tcp: 1000 });
    await p1.cmd({ op: 'udp', name: 'u', host: P2, port: 9090, count: 5, size: 200 });
    await p2.cmd({ op: 'wait', udp: 5 });
    await p2.cmd({ op: 'udpReply', count: 2, size: 100 });
    await p1.cmd({ op: 'wait', udp: 2 });
    await p1.cmd({ op: 'connect', name: 'x', host: EXT, port: 8080 });
    await p1.cmd({ op: 'send', name: 'x', bytes: 700 });
    await ext.cmd({ op: 'wait', tcp: 700 });
    await ext.cmd({ op: 'send', bytes: 300 });
    await p1.cmd({ op: 'wait', tcp: 1300 });
    await p1.cmd({ op: 'udp', name: 'v', host: EXT, port: 9090, count: 4, size: 50 });
    await ext.cmd({ op: 'wait', udp: 4 });
    await settle();

    const out = read();
    const nft = { pp: counted('p1-p2 tcp'), rp: counted('p2-p1 tcp'), px: counted('p1-ext tcp'), rx: counted('ext-p1 tcp') };
    before = node.counters();

    // TCP pod-1 → pod-2: pod-1 opened it (out = what it sent), pod-2 is a pod on this node.
    const [a] = find(pod1, 'tcp', P2);
    expect(a).toMatchObject({ initiator: 'local', class: 'same_node', remote: { kind: 'pod', target: pod2, port: 8080 }, local: { ip: P1 } });
    expect(a.out).toEqual(nft.pp);
    expect(a.in).toEqual(nft.rp);
    expect(a.out.bytes).toBe(3000 + (IP + TCP) * a.out.packets + SYN_OPTIONS);
    expect(a.in.bytes).toBe(1000 + (IP + TCP) * a.in.packets + SYN_OPTIONS);
    // …and the same connection seen from pod-2: opened by the remote, directions mirrored.
    const [b] = find(pod2, 'tcp', P1);
    expect(b).toMatchObject({ initiator: 'remote', class: 'same_node', local: { ip: P2, port: 8080 }, out: a.in, in: a.out });

    // UDP pod-1 ⇄ pod-2: 5 × 200 bytes out, 2 × 100 back.
    const [u] = find(pod1, 'udp', P2);
    expect([u.out, u.in]).toEqual([{ bytes: 5 * (IP + UDP + 200), packets: 5 }, { bytes: 2 * (IP + UDP + 100), packets: 2 }]);
    expect(find(pod2, 'udp', P1)[0]).toMatchObject({ initiator: 'remote', out: u.in, in: u.out });

    // pod-1 → outside (zone-b): cross_zone, flagged; UDP unanswered.
    const [x] = find(pod1, 'tcp', EXT);
    expect(x).toMatchObject({ initiator: 'local', class: 'cross_zone', remote: { kind: 'external', zone: 'zone-b' }, flags: { outside: true } });
    expect([x.out, x.in]).toEqual([nft.px, nft.rx]);
    expect(x.out.bytes).toBe(700 + (IP + TCP) * x.out.packets + SYN_OPTIONS);
    expect(x.in.bytes).toBe(300 + (IP + TCP) * x.in.packets + SYN_OPTIONS);
    const [v] = find(pod1, 'udp', EXT);
    expect([v.out, v.in, v.class]).toEqual([{ bytes: 4 * (IP + UDP + 50), packets: 4 }, { bytes: 0, packets: 0 }, 'cross_zone']);
    expect(collector.lastInterval!.records).toHaveLength(6);

    // The aggregated counters, per target × direction × class × proto, as the JSON output shows them.
    const doc = batchDocument(batchOf(out.results), catalog()) as { targets: { labels: Record<string, string>; flows?: unknown[] }[] };
    const flowsOf = (pod: string) => doc.targets.find((t) => t.labels.pod === pod)!.flows;
    expect(flowsOf('pod-1')).toEqual(expect.arrayContaining([
      { direction: 'out', class: 'same_node', proto: 'tcp', ...a.out },
      { direction: 'in', class: 'same_node', proto: 'tcp', ...a.in },
      { direction: 'out', class: 'same_node', proto: 'udp', bytes: 1140, packets: 5 },
      { direction: 'in', class: 'same_node', proto: 'udp', bytes: 256, packets: 2 },
      { direction: 'out', class: 'cross_zone', proto: 'tcp', ...x.out },
      { direction: 'in', class: 'cross_zone', proto: 'tcp', ...x.in },
      { direction: 'out', class: 'cross_zone', proto: 'udp', bytes: 312, packets: 4 },
      { direction: 'in', class: 'cross_zone', proto: 'udp', bytes: 0, packets: 0 },
    ]));
    expect(flowsOf('pod-1')).toHaveLength(8);
    expect(flowsOf('pod-2')).toEqual(expect.arrayContaining([
      { direction: 'out', class: 'same_node', proto: 'tcp', ...a.in },
      { direction: 'in', class: 'same_node', proto: 'udp', bytes: 1140, packets: 5 },
    ]));
    expect(flowsOf('pod-2')).toHaveLength(4);
  }, 60_000);

  it('the next read reports only what moved since', async () => {
    const totalsBefore = samplesOf(read.bind(null), pod1); // a read with nothing new: no records
    expect(collector.lastInterval!.records).toEqual([]);
    before = node.counters();

    await p1.cmd({ op: 'send', name: 'a', bytes: 2000 });
    await p2.cmd({ op: 'wait', tcp: 5000 });
    await p1.cmd({ op: 'udp', name: 'u', host: P2, port: 9090, count: 3, size: 200 });
    await p2.cmd({ op: 'wait', udp: 8 });
    await settle();
    const out = read();
    const nft = { pp: counted('p1-p2 tcp'), rp: counted('p2-p1 tcp') };

    const [a] = find(pod1, 'tcp', P2);
    expect(a.out).toEqual(nft.pp);
    expect(a.in).toEqual(nft.rp);
    expect(a.out.bytes).toBe(2000 + (IP + TCP) * a.out.packets); // no handshake this time
    expect(a.in.bytes).toBe((IP + TCP) * a.in.packets); // ACKs only
    const [u] = find(pod1, 'udp', P2);
    expect([u.out, u.in]).toEqual([{ bytes: 3 * (IP + UDP + 200), packets: 3 }, { bytes: 0, packets: 0 }]);
    expect(find(pod1, 'tcp', EXT)).toEqual([]);
    expect(collector.lastInterval!.records).toHaveLength(4); // the two flows, from each pod

    const totals = Object.fromEntries(out.results.find((r) => r.target === pod1)!.samples.map((s) => [`${s.def.key} ${s.labels!.direction} ${s.labels!.class} ${s.labels!.proto}`, s.value]));
    expect(totals['flow_bytes out same_node udp']).toBe(totalsBefore['flow_bytes out same_node udp'] + 684);
    expect(totals['flow_packets out same_node udp']).toBe(8);
    expect(totals['flow_bytes out same_node tcp']).toBe(totalsBefore['flow_bytes out same_node tcp'] + a.out.bytes);
    expect(totals['flow_bytes out cross_zone tcp']).toBe(totalsBefore['flow_bytes out cross_zone tcp']);
  }, 60_000);
});

describeRoot('sockpulse --once --format json with the flows collector on the real kernel', () => {
  const node = new FlowNode(`spo${process.pid}`);
  let dir: string;

  beforeAll(async () => {
    await node.build({ p1: P1, p2: P2, ext: EXT });
    node.nft([]);
    const [p1, p2, ext] = await Promise.all([node.peer('p1'), node.peer('p2'), node.peer('ext')]);
    await Promise.all([p2.cmd({ op: 'listen', tcp: 8080, udp: 9090 }), ext.cmd({ op: 'listen', tcp: 8080, udp: 9090 })]);
    await p1.cmd({ op: 'udp', name: 'u', host: P2, port: 9090, count: 7, size: 300 });
    await p2.cmd({ op: 'wait', udp: 7 });
    await p2.cmd({ op: 'udpReply', count: 3, size: 20 });
    await p1.cmd({ op: 'udp', name: 'v', host: EXT, port: 9090, count: 2, size: 1000 });
    await Promise.all([p1.cmd({ op: 'wait', udp: 3 }), ext.cmd({ op: 'wait', udp: 2 })]);
    // The agent's netns discovery sees the node and the two pods (not the outside namespace).
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-flows-netns-'));
    for (const [name, short] of [['node', 'node'], ['pod-1', 'p1'], ['pod-2', 'p2']]) {
      fs.writeFileSync(path.join(dir, name), '');
      execFileSync('mount', ['--bind', `/run/netns/${node.nsName(short)}`, path.join(dir, name)]);
    }
  }, 60_000);

  afterAll(async () => {
    for (const name of ['node', 'pod-1', 'pod-2']) spawnSync('umount', [path.join(dir, name)]);
    fs.rmSync(dir, { recursive: true, force: true });
    await node.destroy();
  });

  it('shows each pod\'s bytes out/in by class, exact; addresses from the namespaces themselves', () => {
    const conf = path.join(dir, 'conf.json');
    fs.writeFileSync(conf, JSON.stringify({ collectors: { flows: { enabled: true, first_read: 'count', zone: 'zone-a', zone_prefixes: { 'zone-a': ['10.200.0.0/16'], 'zone-b': ['10.99.0.0/16'] } } } }));
    const r = spawnSync(process.execPath, [BIN, '--once', '--format', 'json', '--discovery', 'netns', '-c', conf], {
      encoding: 'utf8', env: { PATH: process.env.PATH, SOCKPULSE_NETNS_ROOT: dir, SOCKPULSE_LOG_LEVEL: 'silent' }, timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { targets: { labels: Record<string, string>; flows?: unknown[] }[]; errors: { code: string; message: string }[] };
    const flowsOf = (name: string) => doc.targets.find((t) => t.labels.netns_name === name)!.flows;
    expect(flowsOf('pod-1')).toEqual([
      { direction: 'out', class: 'cross_zone', proto: 'udp', bytes: 2 * (IP + UDP + 1000), packets: 2 },
      { direction: 'in', class: 'cross_zone', proto: 'udp', bytes: 0, packets: 0 },
      { direction: 'out', class: 'same_node', proto: 'udp', bytes: 7 * (IP + UDP + 300), packets: 7 },
      { direction: 'in', class: 'same_node', proto: 'udp', bytes: 3 * (IP + UDP + 20), packets: 3 },
    ]);
    expect(flowsOf('pod-2')).toEqual([
      { direction: 'out', class: 'same_node', proto: 'udp', bytes: 3 * (IP + UDP + 20), packets: 3 },
      { direction: 'in', class: 'same_node', proto: 'udp', bytes: 7 * (IP + UDP + 300), packets: 7 },
    ]);
    expect(flowsOf('node')).toBeUndefined();
    // The host namespace is read too: with accounting off there (the default) the agent says so.
    const acct = fs.readFileSync('/proc/sys/net/netfilter/nf_conntrack_acct', 'latin1').trim();
    const refused = doc.errors.filter((e) => e.code === 'EFLOWSACCT');
    if (acct === '0') expect(refused.map((e) => e.message)).toEqual([expect.stringContaining('net.netfilter.nf_conntrack_acct=0 in the host namespace')]);
    else expect(refused).toEqual([]);
  }, 60_000);
});

function samplesOf(read: () => ReturnType<CollectStage['run']>, t: Target): Record<string, number> {
  const out = read();
  return Object.fromEntries(out.results.find((r) => r.target === t)!.samples.map((s) => [`${s.def.key} ${s.labels!.direction} ${s.labels!.class} ${s.labels!.proto}`, s.value]));
}

function batchOf(results: Batch['results']): Batch {
  return {
    timestamp: 0, step: 60, host: 'test-node', kernel: '', results, errors: [],
    cycle: { discover_ms: 0, collect_ms: 0, targets: results.length, skipped: 0, errors: 0, discovery: 'test', collectors: {} },
    self: { cycles: 1, ticks_skipped: 0, deliver_ms: null, errors: { discover: 0, collect: 0, deliver: 0 }, collector_errors: {}, collector_series_dropped: {}, sinks: {} },
  };
}
