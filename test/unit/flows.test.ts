// The flows collector over a temporary /proc tree holding conntrack text in the kernel's format:
// deltas between reads, reused tuples, first sight, attribution by IP (with DNAT), classes from
// prefixes, and its clear errors. The real kernel is exercised in test/integration/flows.test.ts.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Target } from '../../src/core/model';
import { FlowsCollector, FlowsConfig } from '../../src/collect/flows/collector';
import { Classifier } from '../../src/collect/flows/classify';
import { kernelForm, parsePrefix } from '../../src/collect/flows/addr';
import { flows } from '../../src/collect/flows/plugin';

const base: FlowsConfig = {
  firstRead: 'baseline', zone: 'a', region: 'r1', clusterCidrs: ['10.96.0.0/12'], nodeAddresses: ['192.168.0.0/24'],
  zonePrefixes: { a: ['10.1.0.0/16'], b: ['10.2.0.0/16'], c: ['10.3.0.0/16'] }, regionPrefixes: { r2: ['10.3.0.0/16', '10.4.0.0/16'] },
  cloudServicePrefixes: { s3: ['52.218.0.0/17'] }, flagPrefixes: { vpn: ['10.2.5.0/24'], any: ['0.0.0.0/0'] },
};

const tcp = (src: string, dst: string, sp: number, dp: number, ob: number, op: number, rb: number, rp: number, rsrc = dst) =>
  `ipv4     2 tcp      6 431999 ESTABLISHED src=${src} dst=${dst} sport=${sp} dport=${dp} packets=${op} bytes=${ob} src=${rsrc} dst=${src} sport=${dp} dport=${sp} packets=${rp} bytes=${rb} [ASSURED] mark=0 zone=0 use=2`;

let root: string;
const host: Target = { netns: 1000, pid: 1, pidStart: 1, scope: 'host', containers: [], labels: {} };
const pod1: Target = { netns: 2001, pid: 201, pidStart: 5, scope: 'container', containers: [], labels: { pod: 'p1' }, ips: ['10.1.0.5'] };
const pod2: Target = { netns: 2002, pid: 202, pidStart: 5, scope: 'container', containers: [], labels: { pod: 'p2' }, ips: ['10.1.0.6', 'fd00::6'] };

function table(pid: number, lines: string[], entries = lines.length): void {
  fs.mkdirSync(path.join(root, String(pid), 'net', 'stat'), { recursive: true });
  fs.writeFileSync(path.join(root, String(pid), 'net', 'nf_conntrack'), lines.map((l) => `${l}\n`).join(''));
  fs.writeFileSync(path.join(root, String(pid), 'net', 'sockstat'), 'sockets: used 1\n');
  fs.writeFileSync(path.join(root, String(pid), 'net', 'stat', 'nf_conntrack'), `entries  found\n${entries.toString(16).padStart(8, '0')}  00000000\n`);
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-flows-'));
  for (const t of [pod1, pod2]) table(t.pid, [], 0);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const by = (c: FlowsCollector, t: Target) => c.lastInterval!.records.filter((r) => r.local.target === t);

describe('flows collector: deltas', () => {
  it('baseline first read, then only growth; a new flow counts whole; a reused tuple starts afresh', () => {
    const c = new FlowsCollector(base);
    table(1, [tcp('10.1.0.5', '10.2.0.9', 40000, 80, 1000, 10, 5000, 8)]);
    expect(c.plan([host, pod1, pod2], undefined, root)).toEqual([]);
    expect(c.lastInterval!.records).toEqual([]); // connections open before the agent: baseline
    table(1, [tcp('10.1.0.5', '10.2.0.9', 40000, 80, 1500, 14, 9000, 11), tcp('10.1.0.5', '10.2.0.9', 40001, 80, 300, 3, 200, 2)]);
    c.plan([host, pod1, pod2], undefined, root);
    expect(by(c, pod1).map((r) => [r.local.port, r.out, r.in])).toEqual([
      [40000, { bytes: 500, packets: 4 }, { bytes: 4000, packets: 3 }],
      [40001, { bytes: 300, packets: 3 }, { bytes: 200, packets: 2 }],
    ]);
    // unchanged → no record; counters went down → the whole new counters
    table(1, [tcp('10.1.0.5', '10.2.0.9', 40000, 80, 1500, 14, 9000, 11), tcp('10.1.0.5', '10.2.0.9', 40001, 80, 120, 2, 60, 1)]);
    c.plan([host, pod1, pod2], undefined, root);
    expect(by(c, pod1).map((r) => [r.local.port, r.out, r.in])).toEqual([[40001, { bytes: 120, packets: 2 }, { bytes: 60, packets: 1 }]]);
    expect(c.collect(pod1).find((s) => s.def.key === 'flow_bytes' && s.labels!.direction === 'out')).toMatchObject({ value: 920, labels: { direction: 'out', class: 'cross_zone', proto: 'tcp' } });
  });

  it('first_read count: the first read counts what the table holds (--once)', () => {
    const c = new FlowsCollector({ ...base, firstRead: 'count' });
    table(1, [tcp('10.1.0.5', '10.2.0.9', 40000, 80, 1000, 10, 5000, 8)]);
    c.plan([host, pod1], undefined, root);
    expect(by(c, pod1).map((r) => [r.out.bytes, r.in.bytes, r.initiator, r.class])).toEqual([[1000, 5000, 'local', 'cross_zone']]);
  });

  it('a flow that vanished and comes back is new (the kernel dropped it)', () => {
    const c = new FlowsCollector(base);
    const line = tcp('10.1.0.5', '10.2.0.9', 40000, 80, 100, 1, 100, 1);
    table(1, [line]);
    c.plan([host, pod1], undefined, root);
    table(1, []);
    c.plan([host, pod1], undefined, root);
    table(1, [line]);
    c.plan([host, pod1], undefined, root);
    expect(by(c, pod1).map((r) => r.out.bytes)).toEqual([100]);
  });
});

describe('flows collector: attribution', () => {
  it('DNAT: the answering pod is local for an inbound connection to a service address; both local pods each get a record', () => {
    const c = new FlowsCollector({ ...base, firstRead: 'count' });
    table(1, [
      tcp('10.2.0.9', '10.96.0.10', 5555, 443, 700, 7, 90, 3, '10.1.0.6'), // remote client → service → pod2
      tcp('10.1.0.5', '10.1.0.6', 41000, 8080, 10, 1, 20, 2), // pod1 → pod2 on this node
    ]);
    c.plan([host, pod1, pod2], undefined, root);
    expect(by(c, pod2).map((r) => [r.initiator, r.local.port, r.remote.ip, r.remote.kind, r.class, r.out, r.in])).toEqual([
      ['remote', 443, '10.2.0.9', 'external', 'cross_zone', { bytes: 90, packets: 3 }, { bytes: 700, packets: 7 }],
      ['remote', 8080, '10.1.0.5', 'pod', 'same_node', { bytes: 20, packets: 2 }, { bytes: 10, packets: 1 }],
    ]);
    expect(by(c, pod1).map((r) => [r.initiator, r.remote.kind, r.remote.target, r.class, r.out, r.in])).toEqual([
      ['local', 'pod', pod2, 'same_node', { bytes: 10, packets: 1 }, { bytes: 20, packets: 2 }],
    ]);
  });

  it('a namespace with its own tracked connections is observed there, not again in the host table', () => {
    const c = new FlowsCollector({ ...base, firstRead: 'count' });
    const line = tcp('10.1.0.5', '10.2.0.9', 40000, 80, 100, 1, 100, 1);
    table(1, [line]);
    table(pod1.pid, [line]);
    c.plan([host, pod1], undefined, root);
    expect(by(c, pod1).map((r) => r.observer)).toEqual([pod1.netns]);
  });

  it('IPv6 pod addresses match the kernel\'s full form; host-network (no ips) is not attributed', () => {
    const c = new FlowsCollector({ ...base, firstRead: 'count' });
    const v6 = 'ipv6     10 udp      17 29 src=fd00:0000:0000:0000:0000:0000:0000:0006 dst=2001:0db8:0000:0000:0000:0000:0000:0001 sport=5000 dport=53 packets=1 bytes=80 src=2001:0db8:0000:0000:0000:0000:0000:0001 dst=fd00:0000:0000:0000:0000:0000:0000:0006 sport=53 dport=5000 packets=1 bytes=120 mark=0 zone=0 use=2';
    table(1, [v6, tcp('192.168.0.1', '10.2.0.9', 1, 2, 5, 1, 5, 1)]);
    c.plan([host, pod1, pod2], undefined, root);
    expect(c.lastInterval!.records.map((r) => [r.local.target.labels.pod, r.family, r.proto, r.class, r.out.bytes, r.in.bytes])).toEqual([['p2', 6, 'udp', 'internet', 80, 120]]);
  });
});

describe('flows collector: errors', () => {
  it('malformed lines are one error naming the file and the first reason; the rest is counted', () => {
    const c = new FlowsCollector({ ...base, firstRead: 'count' });
    table(1, ['garbage line', tcp('10.1.0.5', '10.2.0.9', 40000, 80, 100, 1, 100, 1)]);
    const errs = c.plan([host, pod1], undefined, root);
    expect(errs).toEqual([expect.objectContaining({ code: 'EMALFORMED', message: expect.stringContaining(`${root}/1/net/nf_conntrack: 1 malformed line(s), first: unknown address family "garbage"`) })]);
    expect(by(c, pod1)).toHaveLength(1);
  });

  it('entries without counters: an error naming net.netfilter.nf_conntrack_acct', () => {
    const c = new FlowsCollector(base);
    table(1, ['ipv4     2 tcp      6 432000 ESTABLISHED src=10.1.0.5 dst=127.0.0.1 sport=57296 dport=5000 src=127.0.0.1 dst=10.1.0.5 sport=5000 dport=57296 [ASSURED] mark=0 zone=0 use=2']);
    const errs = c.plan([host, pod1], undefined, root);
    expect(errs).toEqual([expect.objectContaining({ code: 'EFLOWSACCT', message: expect.stringMatching(/net\.netfilter\.nf_conntrack_acct is 0 in netns 1000.*set net\.netfilter\.nf_conntrack_acct=1/) })]);
  });

  it('an absent table says why: no conntrack, or no procfs support', () => {
    const c = new FlowsCollector(base);
    fs.mkdirSync(path.join(root, '1', 'net'), { recursive: true });
    fs.writeFileSync(path.join(root, '1', 'net', 'sockstat'), 'sockets: used 1\n');
    expect(c.plan([host], undefined, root)[0].message).toMatch(/nf_conntrack is absent: conntrack is not loaded/);
    fs.mkdirSync(path.join(root, '1', 'net', 'stat'));
    fs.writeFileSync(path.join(root, '1', 'net', 'stat', 'nf_conntrack'), 'entries\n00000000\n');
    expect(c.plan([host], undefined, root)[0].message).toMatch(/built without CONFIG_NF_CONNTRACK_PROCFS.*netlink/);
  });
});

describe('addresses and classes', () => {
  it('kernel form of addresses', () => {
    expect(kernelForm('fd00::6')).toBe('fd00:0000:0000:0000:0000:0000:0000:0006');
    expect(kernelForm('::ffff:10.1.2.3')).toBe('0000:0000:0000:0000:0000:ffff:0a01:0203');
    expect(kernelForm('10.1.2.3')).toBe('10.1.2.3');
    expect(kernelForm('nope')).toBeUndefined();
  });

  it('classes by prefix, longest first; flags; bad prefixes named', () => {
    const k = new Classifier(base);
    const cls = (ip: string) => k.remote(ip).class;
    expect(['10.1.9.9', '10.2.0.1', '10.3.0.1', '10.4.0.1', '10.96.0.1', '192.168.0.7', '52.218.1.1', '172.16.0.1', '8.8.8.8', '127.0.0.1'].map(cls)).toEqual([
      'same_zone', 'cross_zone', 'cross_region', 'cross_region', 'cluster', 'cluster', 'cloud_service', 'private', 'internet', 'same_node',
    ]);
    expect(k.remote('192.168.0.7').kind).toBe('node');
    expect(k.remote('52.218.1.1')).toMatchObject({ cloudService: 's3', flags: { any: true } });
    expect(k.remote('10.2.5.1').flags).toEqual({ vpn: true, any: true });
    expect(() => parsePrefix('10.0.0.0/33')).toThrow('prefix length must be 0…32');
    expect(() => flows.config!.resolve({ ...raw(), zone_prefixes: { a: ['10.0.0/8'] } }, {})).toThrow('collectors.flows.zone_prefixes.a: "10.0.0/8" is not an address prefix');
  });
});

function raw(): Record<string, unknown> {
  return { first_read: 'baseline', zone: '', region: '', cluster_cidrs: [], node_addresses: [], zone_prefixes: {}, region_prefixes: {}, cloud_service_prefixes: {}, flag_prefixes: {} };
}
