// The StatsD sink fed by the real pipeline on the fixture proc tree: the exact datagrams for each
// tag style and transport (raw capture servers), what the reference daemon (statsd@0.9.0 from npm)
// holds afterwards (its management console), counter increments across cycles and namespace
// restarts, and the failure paths: absent, resetting and slow servers.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { WITHOUT_ORPHANS, fixturePipeline } from '../helpers/pipeline';
import { resolveSection, sinkContext } from '../helpers/sinks';
import { statsd } from '../../src/deliver/statsd/plugin';
import { Batch, Sink } from '../../src/core/model';
import { SelfStats } from '../../src/core/self-stats';
import { StatsdSink } from '../../src/deliver/statsd/sink';
import { StatsdDaemon, TcpCapture, UdpCapture, UdsCapture, freePort, startStatsd } from '../helpers/statsd-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deadline = (ms = 3000) => AbortSignal.timeout(ms);

type StatsdSettings = Record<string, unknown>;
const settings = (over: StatsdSettings) => ({
  enabled: true, protocol: 'udp', host: '127.0.0.1', port: 8125, path: '', prefix: 'sockpulse', tag_style: 'dogstatsd', ...over,
});

const sinks: Sink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

function sink(over: StatsdSettings, stats = new SelfStats()) {
  const s = new StatsdSink(resolveSection(statsd, settings(over)), sinkContext('statsd', { stats, hostname: 'fixture-host' }));
  sinks.push(s);
  return { sink: s, counters: stats.sink('statsd'), stats };
}

const pipeline = (sinkList: Sink[], stats: SelfStats, cycleTimeoutMs = 3000) =>
  fixturePipeline({ sinks: sinkList, cycleTimeoutMs, stats, collectors: WITHOUT_ORPHANS() });

/** One cycle of the fixture tree; what depends on the machine is pinned. */
async function fixtureBatch(): Promise<Batch> {
  const { batch } = await pipeline([], new SelfStats()).runCycle(new Date(1_700_000_059_000));
  batch.cycle.discover_ms = 0;
  batch.cycle.collect_ms = 0;
  for (const c of Object.values(batch.cycle.collectors)) c.ms = 0;
  return batch;
}

/** The next cycle: every kernel counter up by `by` (per pid when given), one more agent cycle. */
function later(b: Batch, by: number | Record<number, number>): Batch {
  const n = structuredClone(b);
  n.self.cycles++;
  for (const r of n.results) for (const s of r.samples) if (s.def.kind === 'counter') s.value += typeof by === 'number' ? by : by[r.target.pid] ?? 0;
  return n;
}

const lines = (datagrams: string[]) => datagrams.join('\n').split('\n');
/** UDP packing: each datagram at most 1432 bytes, and greedy (the next line would not have fitted). */
function expectPacked(datagrams: string[], max: number): void {
  datagrams.forEach((d, i) => {
    expect(d.length).toBeLessThanOrEqual(max);
    if (i + 1 < datagrams.length) expect(d.length + 1 + datagrams[i + 1].split('\n')[0].length).toBeGreaterThan(max);
  });
}

const POD = 'container_id:aaaaaaaaaaaa_bbbbbbbbbbbb,pod_uid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
/** The first cycle in DogStatsD style: gauges only (a counter's first sight is its baseline). */
const FIRST_DOGSTATSD = [
  'sockpulse.inuse:1|g|#scope:host',
  'sockpulse.timewait:0|g|#scope:host',
  'sockpulse.total:35|g|#scope:host',
  'sockpulse.udp.inuse:0|g|#scope:host',
  'sockpulse.host.orphaned:0|g',
  'sockpulse.host.tcp_alloc:1|g',
  'sockpulse.host.tcp_mem_pages:142|g',
  'sockpulse.host.udp_mem_pages:0|g',
  'sockpulse.estab:0|g|#scope:host',
  'sockpulse.inuse:15|g|#scope:container,container_id:4e3eb141f15f',
  'sockpulse.timewait:3|g|#scope:container,container_id:4e3eb141f15f',
  'sockpulse.total:18|g|#scope:container,container_id:4e3eb141f15f',
  'sockpulse.udp.inuse:3|g|#scope:container,container_id:4e3eb141f15f',
  'sockpulse.estab:11|g|#scope:container,container_id:4e3eb141f15f',
  `sockpulse.inuse:0|g|#scope:container,${POD}`,
  `sockpulse.timewait:0|g|#scope:container,${POD}`,
  `sockpulse.total:1|g|#scope:container,${POD}`,
  `sockpulse.udp.inuse:0|g|#scope:container,${POD}`,
  `sockpulse.estab:0|g|#scope:container,${POD}`,
  'sockpulse.inuse:10|g|#scope:netns,netns_name:netns-4026532500',
  'sockpulse.timewait:3|g|#scope:netns,netns_name:netns-4026532500',
  'sockpulse.total:18|g|#scope:netns,netns_name:netns-4026532500',
  'sockpulse.udp.inuse:2|g|#scope:netns,netns_name:netns-4026532500',
  'sockpulse.estab:11|g|#scope:netns,netns_name:netns-4026532500',
  'sockpulse.total:3|g|#scope:container,container_id:cccccccccccc',
  'sockpulse.estab:11|g|#scope:container,container_id:cccccccccccc',
  'sockpulse.agent.cycle.discover_ms:0|g',
  'sockpulse.agent.cycle.collect_ms:0|g',
  'sockpulse.agent.targets:5|g',
  'sockpulse.agent.skipped:1|g',
  'sockpulse.agent.collector.duration_ms:0|g|#collector:sockstat',
  'sockpulse.agent.collector.duration_ms:0|g|#collector:snmp',
  'sockpulse.agent.collector.duration_ms:0|g|#collector:protocols',
  'sockpulse.agent.collector.duration_ms:0|g|#collector:conntrack',
  'sockpulse.agent.collector.duration_ms:0|g|#collector:interfaces',
  'sockpulse.agent.collector.series:21|g|#collector:sockstat',
  'sockpulse.agent.collector.series:5|g|#collector:snmp',
  'sockpulse.agent.collector.series:147|g|#collector:protocols',
  'sockpulse.agent.collector.series:0|g|#collector:conntrack',
  'sockpulse.agent.collector.series:56|g|#collector:interfaces',
];
const POD_T = 'container_id=aaaaaaaaaaaa_bbbbbbbbbbbb,pod_uid=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const FIRST_TELEGRAF = [
  'sockpulse.inuse,scope=host:1|g',
  'sockpulse.timewait,scope=host:0|g',
  'sockpulse.total,scope=host:35|g',
  'sockpulse.udp.inuse,scope=host:0|g',
  'sockpulse.host.orphaned:0|g',
  'sockpulse.host.tcp_alloc:1|g',
  'sockpulse.host.tcp_mem_pages:142|g',
  'sockpulse.host.udp_mem_pages:0|g',
  'sockpulse.estab,scope=host:0|g',
  'sockpulse.inuse,scope=container,container_id=4e3eb141f15f:15|g',
  'sockpulse.timewait,scope=container,container_id=4e3eb141f15f:3|g',
  'sockpulse.total,scope=container,container_id=4e3eb141f15f:18|g',
  'sockpulse.udp.inuse,scope=container,container_id=4e3eb141f15f:3|g',
  'sockpulse.estab,scope=container,container_id=4e3eb141f15f:11|g',
  `sockpulse.inuse,scope=container,${POD_T}:0|g`,
  `sockpulse.timewait,scope=container,${POD_T}:0|g`,
  `sockpulse.total,scope=container,${POD_T}:1|g`,
  `sockpulse.udp.inuse,scope=container,${POD_T}:0|g`,
  `sockpulse.estab,scope=container,${POD_T}:0|g`,
  'sockpulse.inuse,scope=netns,netns_name=netns-4026532500:10|g',
  'sockpulse.timewait,scope=netns,netns_name=netns-4026532500:3|g',
  'sockpulse.total,scope=netns,netns_name=netns-4026532500:18|g',
  'sockpulse.udp.inuse,scope=netns,netns_name=netns-4026532500:2|g',
  'sockpulse.estab,scope=netns,netns_name=netns-4026532500:11|g',
  'sockpulse.total,scope=container,container_id=cccccccccccc:3|g',
  'sockpulse.estab,scope=container,container_id=cccccccccccc:11|g',
  'sockpulse.agent.cycle.discover_ms:0|g',
  'sockpulse.agent.cycle.collect_ms:0|g',
  'sockpulse.agent.targets:5|g',
  'sockpulse.agent.skipped:1|g',
  'sockpulse.agent.collector.duration_ms,collector=sockstat:0|g',
  'sockpulse.agent.collector.duration_ms,collector=snmp:0|g',
  'sockpulse.agent.collector.duration_ms,collector=protocols:0|g',
  'sockpulse.agent.collector.duration_ms,collector=conntrack:0|g',
  'sockpulse.agent.collector.duration_ms,collector=interfaces:0|g',
  'sockpulse.agent.collector.series,collector=sockstat:21|g',
  'sockpulse.agent.collector.series,collector=snmp:5|g',
  'sockpulse.agent.collector.series,collector=protocols:147|g',
  'sockpulse.agent.collector.series,collector=conntrack:0|g',
  'sockpulse.agent.collector.series,collector=interfaces:56|g',
];
const POD_N = 'container_id.aaaaaaaaaaaa_bbbbbbbbbbbb.pod_uid.0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const FIRST_NONE = [
  'sockpulse.inuse.scope.host:1|g',
  'sockpulse.timewait.scope.host:0|g',
  'sockpulse.total.scope.host:35|g',
  'sockpulse.udp.inuse.scope.host:0|g',
  'sockpulse.host.orphaned:0|g',
  'sockpulse.host.tcp_alloc:1|g',
  'sockpulse.host.tcp_mem_pages:142|g',
  'sockpulse.host.udp_mem_pages:0|g',
  'sockpulse.estab.scope.host:0|g',
  'sockpulse.inuse.scope.container.container_id.4e3eb141f15f:15|g',
  'sockpulse.timewait.scope.container.container_id.4e3eb141f15f:3|g',
  'sockpulse.total.scope.container.container_id.4e3eb141f15f:18|g',
  'sockpulse.udp.inuse.scope.container.container_id.4e3eb141f15f:3|g',
  'sockpulse.estab.scope.container.container_id.4e3eb141f15f:11|g',
  `sockpulse.inuse.scope.container.${POD_N}:0|g`,
  `sockpulse.timewait.scope.container.${POD_N}:0|g`,
  `sockpulse.total.scope.container.${POD_N}:1|g`,
  `sockpulse.udp.inuse.scope.container.${POD_N}:0|g`,
  `sockpulse.estab.scope.container.${POD_N}:0|g`,
  'sockpulse.inuse.scope.netns.netns_name.netns-4026532500:10|g',
  'sockpulse.timewait.scope.netns.netns_name.netns-4026532500:3|g',
  'sockpulse.total.scope.netns.netns_name.netns-4026532500:18|g',
  'sockpulse.udp.inuse.scope.netns.netns_name.netns-4026532500:2|g',
  'sockpulse.estab.scope.netns.netns_name.netns-4026532500:11|g',
  'sockpulse.total.scope.container.container_id.cccccccccccc:3|g',
  'sockpulse.estab.scope.container.container_id.cccccccccccc:11|g',
  'sockpulse.agent.cycle.discover_ms:0|g',
  'sockpulse.agent.cycle.collect_ms:0|g',
  'sockpulse.agent.targets:5|g',
  'sockpulse.agent.skipped:1|g',
  'sockpulse.agent.collector.duration_ms.collector.sockstat:0|g',
  'sockpulse.agent.collector.duration_ms.collector.snmp:0|g',
  'sockpulse.agent.collector.duration_ms.collector.protocols:0|g',
  'sockpulse.agent.collector.duration_ms.collector.conntrack:0|g',
  'sockpulse.agent.collector.duration_ms.collector.interfaces:0|g',
  'sockpulse.agent.collector.series.collector.sockstat:21|g',
  'sockpulse.agent.collector.series.collector.snmp:5|g',
  'sockpulse.agent.collector.series.collector.protocols:147|g',
  'sockpulse.agent.collector.series.collector.conntrack:0|g',
  'sockpulse.agent.collector.series.collector.interfaces:56|g',
];
const COUNTER_KEYS = ['tcp.active_opens', 'tcp.passive_opens', 'tcp.attempt_fails', 'tcp.estab_resets', 'tcp.retrans_segs', 'tcp.in_errs', 'tcp.out_rsts',
  'udp.in_datagrams', 'udp.out_datagrams', 'udp.no_ports', 'udp.in_errors', 'udp.rcvbuf_errors', 'udp.sndbuf_errors'];
/** The rest of the protocols collector's default selection (netstat, and snmp6 where IPv6 is). */
const NETSTAT_KEYS = ['TcpExt.ListenOverflows', 'TcpExt.ListenDrops', 'TcpExt.TCPTimeouts', 'TcpExt.TCPAbortOnTimeout', 'TcpExt.TCPAbortOnMemory',
  'TcpExt.TCPBacklogDrop', 'TcpExt.TCPLostRetransmit', 'TcpExt.TCPSynRetrans', 'IpExt.InOctets', 'IpExt.OutOctets'].map((k) => `netstat.${k}`);
const SNMP6_KEYS = ['Ip6.InOctets', 'Ip6.OutOctets', 'Udp6.InDatagrams', 'Udp6.OutDatagrams', 'Udp6.NoPorts', 'Udp6.InErrors', 'Udp6.RcvbufErrors', 'Udp6.SndbufErrors'].map((k) => `netstat.${k}`);
const IF_KEYS = ['rx', 'tx'].flatMap((w) => ['bytes', 'packets', 'errors', 'dropped'].map((f) => `if.${w}_${f}`));
/** Per target: its tags, whether it has snmp6, its interfaces (lo left out). */
const TARGETS: [string, boolean, string[]][] = [
  ['scope:host', true, ['ifb0', 'ifb1', 'eth0']],
  ['scope:container,container_id:4e3eb141f15f', true, ['eth0']],
  [`scope:container,${POD}`, true, ['eth0']],
  ['scope:netns,netns_name:netns-4026532500', false, ['eth0']],
  ['scope:container,container_id:cccccccccccc', true, ['eth0']],
];
/** The second cycle's counter lines when every counter went up by 5. */
const SECOND_COUNTERS = [
  ...TARGETS.flatMap(([tags, v6, ifs]) => [
    ...[...COUNTER_KEYS, ...NETSTAT_KEYS, ...(v6 ? SNMP6_KEYS : [])].map((k) => `sockpulse.${k}:5|c|#${tags}`),
    ...ifs.flatMap((i) => IF_KEYS.map((k) => `sockpulse.${k}:5|c|#${tags},interface:${i}`)),
  ]),
  'sockpulse.agent.cycles:1|c',
  'sockpulse.agent.ticks_skipped:0|c',
  'sockpulse.agent.errors:0|c|#stage:discover',
  'sockpulse.agent.errors:0|c|#stage:collect',
  'sockpulse.agent.errors:0|c|#stage:deliver',
  ...['sockstat', 'snmp', 'protocols', 'conntrack', 'interfaces'].map((c) => `sockpulse.agent.collector.errors:0|c|#collector:${c}`),
  ...['sockstat', 'snmp', 'protocols', 'conntrack', 'interfaces'].map((c) => `sockpulse.agent.collector.series_dropped:0|c|#collector:${c}`),
];
/** Lines of the first cycle (gauges only). */
const FIRST = FIRST_DOGSTATSD.length;

describe('StatsdSink over UDP: the exact datagrams', () => {
  let cap: UdpCapture;
  beforeEach(async () => (cap = await UdpCapture.start()));
  afterEach(() => cap.close());

  it.each<[string, string[]]>([
    ['dogstatsd', FIRST_DOGSTATSD],
    ['telegraf', FIRST_TELEGRAF],
    ['none', FIRST_NONE],
  ])('%s: the first cycle is gauges, in datagrams of at most 1432 bytes', async (style, expected) => {
    const { sink: s, counters } = sink({ port: cap.port, tag_style: style });
    await s.start();
    expect(await s.write(await fixtureBatch(), deadline())).toEqual({ status: 'ok', sent: FIRST });
    await cap.waitFor((d) => lines(d).length >= expected.length);
    expect(lines(cap.items)).toEqual(expected);
    expectPacked(cap.items, 1432);
    expect(counters).toMatchObject({ sent: FIRST, buffered: 0, dropped: {} });
  });

  it('the second cycle adds each counter\'s increment, per namespace and per agent label', async () => {
    const { sink: s } = sink({ port: cap.port });
    await s.start();
    const b1 = await fixtureBatch();
    await s.write(b1, deadline());
    await cap.waitFor((d) => lines(d).length >= FIRST);
    cap.clear();
    expect(await s.write(later(b1, 5), deadline())).toEqual({ status: 'ok', sent: FIRST + SECOND_COUNTERS.length });
    await cap.waitFor((d) => lines(d).length >= FIRST + SECOND_COUNTERS.length);
    expect(lines(cap.items).filter((l) => l.includes('|g'))).toEqual(FIRST_DOGSTATSD);
    expect(lines(cap.items).filter((l) => l.includes('|c')).sort()).toEqual([...SECOND_COUNTERS].sort());
    expectPacked(cap.items, 1432);
  });

  it('a prefix is escaped, and an empty prefix leaves the catalog name alone', async () => {
    const a = sink({ port: cap.port, prefix: 'team a/ß.' }).sink;
    const b = sink({ port: cap.port, prefix: '' }).sink;
    await a.start();
    await b.start();
    const batch = await fixtureBatch();
    await a.write(batch, deadline());
    await b.write(batch, deadline());
    await cap.waitFor((d) => lines(d).length >= 2 * FIRST);
    expect(lines(cap.items)).toContain('team_a__.agent.targets:5|g');
    expect(lines(cap.items)).toContain('agent.targets:5|g');
  });

  it('no server listening: UDP cannot tell, every datagram counts as sent (ICMP port-unreachable is not reported to an unconnected socket)', async () => {
    const port = await freePort('udp');
    const { sink: s, counters } = sink({ port });
    await s.start();
    const batch = await fixtureBatch();
    for (let i = 0; i < 3; i++) expect(await s.write(later(batch, i), deadline())).toMatchObject({ status: 'ok' });
    expect(counters.dropped).toEqual({});
  });
});

describe('StatsdSink into the real statsd daemon (management console)', () => {
  let daemon: StatsdDaemon | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  const sockpulse = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('sockpulse.')));

  it.each(['udp', 'tcp'] as const)('%s, DogStatsD tags: gauges and counters under name;k=v', async (protocol) => {
    daemon = await startStatsd({ tcp: protocol === 'tcp' });
    const { sink: s } = sink({ protocol, port: protocol === 'tcp' ? daemon.tcpPort! : daemon.udpPort });
    await s.start();
    const b1 = await fixtureBatch();
    expect(await s.write(b1, deadline())).toMatchObject({ status: 'ok' });
    expect(await s.write(later(b1, 5), deadline())).toMatchObject({ status: 'ok' });
    const want = 'sockpulse.estab;scope=container;container_id=4e3eb141f15f';
    await waitUntil(async () => (await daemon!.counters())['sockpulse.agent.cycles'] === 1);
    const gauges = sockpulse(await daemon.gauges());
    const counters = sockpulse(await daemon.counters());
    expect(gauges).toMatchObject({
      [want]: 11,
      'sockpulse.estab;scope=host': 0,
      'sockpulse.total;scope=host': 35,
      'sockpulse.host.tcp_mem_pages': 142,
      'sockpulse.total;scope=container;container_id=aaaaaaaaaaaa_bbbbbbbbbbbb;pod_uid=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0': 1,
      'sockpulse.inuse;scope=netns;netns_name=netns-4026532500': 10,
      'sockpulse.agent.targets': 5,
    });
    expect(Object.keys(gauges)).toHaveLength(FIRST);
    expect(Object.keys(counters)).toHaveLength(SECOND_COUNTERS.length);
    expect(counters).toMatchObject({
      'sockpulse.tcp.active_opens;scope=host': 5,
      'sockpulse.udp.in_datagrams;scope=container;container_id=4e3eb141f15f': 5,
      'sockpulse.agent.cycles': 1,
      'sockpulse.agent.errors;stage=collect': 0,
    });
    expect((await daemon.counters())['statsd.bad_lines_seen']).toBe(0);
  });

  it('none: labels folded into the dotted name, as the daemon stores it', async () => {
    daemon = await startStatsd();
    const { sink: s } = sink({ port: daemon.udpPort, tag_style: 'none' });
    await s.start();
    await s.write(await fixtureBatch(), deadline());
    await waitUntil(async () => Object.keys(sockpulse(await daemon!.gauges())).length === FIRST);
    expect(sockpulse(await daemon.gauges())).toMatchObject({
      'sockpulse.estab.scope.container.container_id.4e3eb141f15f': 11,
      'sockpulse.estab.scope.host': 0,
      'sockpulse.udp.inuse.scope.netns.netns_name.netns-4026532500': 2,
    });
  });

  it('counter increments across cycles and namespace restarts are never negative', async () => {
    daemon = await startStatsd();
    const { sink: s } = sink({ port: daemon.udpPort });
    await s.start();
    const b1 = await fixtureBatch();
    const b2 = later(b1, 5);
    // Cycle 3: the container of pid 300 was recreated and its namespace got the same inode back:
    // a new process (start time), counters from zero. The plain netns (pid 500) is the same
    // namespace, but its counter went down (a reset): the new value is the increment.
    const b3 = later(b2, 0);
    const c300 = b3.results.find((r) => r.target.pid === 300)!;
    c300.target.pidStart += 1000;
    for (const smp of c300.samples) if (smp.def.kind === 'counter') smp.value = 2;
    const n500 = b3.results.find((r) => r.target.pid === 500)!;
    const opens = n500.samples.find((smp) => smp.def.key === 'tcp_active_opens')!;
    const before = opens.value;
    opens.value = 4;
    // Cycle 4: both go on from there.
    const b4 = later(b3, { 300: 3, 500: 1 });
    for (const b of [b1, b2, b3, b4]) expect(await s.write(b, deadline())).toMatchObject({ status: 'ok' });
    await waitUntil(async () => (await daemon!.counters())['sockpulse.agent.cycles'] === 3);
    const counters = sockpulse(await daemon.counters());
    expect(before).toBeGreaterThan(4);
    expect(counters['sockpulse.tcp.active_opens;scope=container;container_id=4e3eb141f15f']).toBe(5 + 3); // cycle 3: new baseline, no line
    expect(counters['sockpulse.tcp.active_opens;scope=netns;netns_name=netns-4026532500']).toBe(5 + 4 + 1);
    expect(counters['sockpulse.tcp.active_opens;scope=host']).toBe(5);
    expect(Object.values(counters).every((v) => v >= 0)).toBe(true);
  });

  it('hostile label values cannot break a line or inject a metric', async () => {
    daemon = await startStatsd();
    const { sink: s } = sink({ port: daemon.udpPort });
    await s.start();
    const b = await fixtureBatch();
    const t = b.results.find((r) => r.target.pid === 300)!.target;
    t.labels = { container: 'evil\nsockpulse.injected:999|g', image: 'reg:5000/a b,c=d|e#f@g "ü" 🐳', netns_name: 'n'.repeat(10_000) };
    expect(await s.write(b, deadline())).toMatchObject({ status: 'ok' });
    const key = `sockpulse.estab;scope=container;container=evil_sockpulse.injected_999_g;image=reg_5000_a_b_c_d_e_f_g${'_'.repeat(6)};netns_name=${'n'.repeat(10_000)}`;
    await waitUntil(async () => (await daemon!.gauges())['sockpulse.agent.skipped'] === 1);
    const gauges = await daemon.gauges();
    expect(gauges[key]).toBe(11);
    expect(Object.keys(gauges).filter((k) => k.includes('injected'))).toHaveLength(5);
    expect(gauges['sockpulse.injected']).toBeUndefined();
    expect((await daemon.counters())['statsd.bad_lines_seen']).toBe(0);
  });
});

describe('StatsdSink over TCP and unix datagram sockets', () => {
  it('TCP: the same lines, each write ending with a newline; a closed peer is reconnected before the next write', async () => {
    const cap = await TcpCapture.start();
    try {
      const { sink: s } = sink({ protocol: 'tcp', port: cap.port });
      await s.start();
      const b1 = await fixtureBatch();
      expect(await s.write(b1, deadline())).toEqual({ status: 'ok', sent: FIRST });
      await cap.waitFor(() => cap.text().split('\n').length > FIRST);
      expect(cap.text()).toBe(`${FIRST_DOGSTATSD.join('\n')}\n`);
      // The daemon restarts: its end closes, a new one listens on the same port.
      await cap.close();
      const again = await TcpCapture.start(cap.port);
      try {
        await sleep(50);
        expect(await s.write(later(b1, 5), deadline())).toEqual({ status: 'ok', sent: FIRST + SECOND_COUNTERS.length });
        await again.waitFor(() => again.text().split('\n').length > FIRST + SECOND_COUNTERS.length);
        expect(again.text().split('\n').filter((l) => l.includes('|c')).sort()).toEqual([...SECOND_COUNTERS].sort());
      } finally {
        await again.close();
      }
    } finally {
      await cap.close().catch(() => undefined);
    }
  });

  it('uds: datagrams of at most 8192 bytes; a receiver that is absent or goes away → retryable, counted, recovered', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-uds-'));
    const file = path.join(dir, 'dsd.socket');
    const b1 = await fixtureBatch();
    try {
      const absent = sink({ protocol: 'uds', path: file });
      await absent.sink.start();
      const r0 = await absent.sink.write(b1, deadline());
      expect(r0).toMatchObject({ status: 'retryable', error: expect.stringMatching(new RegExp(`0 of ${FIRST} points sent; ${FIRST} failed .*ENOENT`)) });
      expect(absent.counters.dropped).toEqual({ send_error: FIRST });

      let cap = UdsCapture.start(file);
      const { sink: s, counters } = sink({ protocol: 'uds', path: file });
      await s.start();
      expect(await s.write(b1, deadline())).toEqual({ status: 'ok', sent: FIRST });
      await cap.waitFor((d) => lines(d).length >= FIRST);
      expect(lines(cap.items)).toEqual(FIRST_DOGSTATSD);
      expectPacked(cap.items, 8192);

      cap.close(); // the receiver goes away (a restarting agent)
      const r1 = await s.write(later(b1, 5), deadline());
      expect(r1).toMatchObject({ status: 'retryable', error: expect.stringMatching(/ECONNREFUSED|ENOENT/) });
      expect(counters.dropped).toEqual({ send_error: FIRST + SECOND_COUNTERS.length });
      cap = UdsCapture.start(file);
      try {
        // …and is back: the increments that failed are carried by this write.
        expect(await s.write(later(b1, 5), deadline())).toEqual({ status: 'ok', sent: FIRST + SECOND_COUNTERS.length });
        expect(await absent.sink.write(b1, deadline())).toMatchObject({ status: 'ok' });
        await cap.waitFor((d) => lines(d).length >= 2 * FIRST + 2 * SECOND_COUNTERS.length);
        expect(lines(cap.items).slice(0, FIRST + SECOND_COUNTERS.length).filter((l) => l.includes('|c')).sort()).toEqual([...SECOND_COUNTERS].sort());
      } finally {
        cap.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('StatsdSink failure paths: the agent keeps cycling, drops are counted', () => {
  it('TCP server absent: retryable results, points dropped as send_error; the increments arrive once it is back', async () => {
    const port = await freePort('tcp');
    const stats = new SelfStats();
    const { sink: s, counters } = sink({ protocol: 'tcp', port }, stats);
    await s.start();
    const agent = pipeline([s], stats);
    for (let i = 0; i < 2; i++) {
      const { deliveries } = await agent.runCycle(new Date(1_700_000_059_000 + i * 60_000));
      expect(deliveries[0].result).toMatchObject({ status: 'retryable', error: expect.stringMatching(/ECONNREFUSED/) });
    }
    expect(agent.stats.cycles).toBe(2);
    expect(agent.stats.errors.deliver).toBe(2);
    expect(counters.sent).toBe(0);
    expect(counters.dropped.send_error).toBeGreaterThan(0);
    // Direct writes: a failed cycle's increments are given back, and carried by the next.
    const b1 = await fixtureBatch();
    await s.write(later(b1, 0), deadline());
    expect((await s.write(later(b1, 5), deadline())).status).toBe('retryable');
    const cap = await TcpCapture.start(port);
    try {
      expect(await s.write(later(b1, 12), deadline())).toMatchObject({ status: 'ok' });
      await cap.waitFor(() => cap.text().includes('sockpulse.agent.skipped'));
      expect(cap.text()).toContain('sockpulse.tcp.active_opens:12|c|#scope:host\n');
    } finally {
      await cap.close();
    }
  });

  it('TCP connection reset: retryable, counted; the next write reconnects', async () => {
    const cap = await TcpCapture.start();
    try {
      cap.mode = 'reset';
      const { sink: s, counters } = sink({ protocol: 'tcp', port: cap.port });
      await s.start();
      const b = await fixtureBatch();
      const r = await s.write(b, deadline());
      expect(r).toMatchObject({ status: 'retryable', error: expect.stringMatching(/ECONNRESET|EPIPE|ERR_SOCKET/) });
      expect(counters.dropped.send_error).toBe(FIRST);
      cap.mode = 'accept';
      // The failed write still set the counters' baselines: this one also carries their increments (0).
      expect(await s.write(b, deadline())).toEqual({ status: 'ok', sent: FIRST + SECOND_COUNTERS.length });
      await cap.waitFor(() => cap.text().split('\n').length > FIRST + SECOND_COUNTERS.length);
      expect(cap.text().split('\n').filter((l) => l.includes('|g'))).toEqual(FIRST_DOGSTATSD);
      expect(cap.text().split('\n').filter((l) => l.includes('|c')).sort()).toEqual(SECOND_COUNTERS.map((l) => l.replace(/:[15]\|c/, ':0|c')).sort());
      expect(cap.connections).toBeGreaterThanOrEqual(2);
    } finally {
      await cap.close();
    }
  });

  it('TCP server too slow: the write ends at the deadline, memory stays bounded, late sends are counted, close() flushes', async () => {
    const cap = await TcpCapture.start();
    try {
      const { sink: s, counters } = sink({ protocol: 'tcp', port: cap.port });
      await s.start();
      cap.mode = 'pause';
      const big = manyTargets(await fixtureBatch(), 2000); // 10 000 gauges of about 1 kB: more than the kernel buffers
      const t0 = Date.now();
      const r = await s.write(big, deadline(400));
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(r).toMatchObject({ status: 'retryable', error: expect.stringMatching(/at the deadline/) });
      expect(counters.dropped.deadline).toBeGreaterThan(0);
      expect(counters.buffered).toBeGreaterThan(0);
      expect(counters.buffered * 1000).toBeLessThan(2 * 1024 * 1024); // at most ~1 MiB waits in the socket
      const r2 = await s.write(big, deadline(200)); // still stuck: nothing more is queued
      expect(r2).toMatchObject({ status: 'retryable' });
      cap.resume();
      await s.close(); // waits for what is in flight
      expect(counters.buffered).toBe(0);
      // Two writes of 2000 × 5 gauges + 4 agent gauges + 5 collector durations + 5 collector series;
      // the second also has the 5 agent counters' and 5 collector error and 5 series-dropped
      // counters' increments. If the first connection was still stuck at the second write, it was
      // dropped: send_error.
      const total = 2 * 10_014 + 15;
      expect(counters.sent + (counters.dropped.deadline ?? 0) + (counters.dropped.send_error ?? 0)).toBe(total);
      // A dropped connection's kernel buffers still reach the server, with the lines of the write it cut off.
      await cap.waitFor(() => cap.text().split('\n').length - 1 >= counters.sent, 5000);
      expect(await s.write(big, deadline())).toEqual({ status: 'failed', error: 'write after close' });
    } finally {
      await cap.close();
    }
  });
});

describe('StatsdSink against a TCP server that accepts and never reads', () => {
  it('leaves no waiter behind per cycle, and drops and replaces a connection stalled past a deadline', async () => {
    const cap = await TcpCapture.start();
    try {
      cap.mode = 'pause'; // accepts, never reads: the socket buffers fill, and no send ever errors
      const { sink: s, counters } = sink({ protocol: 'tcp', port: cap.port });
      await s.start();
      const big = manyTargets(await fixtureBatch(), 2000); // ~10 MB a write: the kernel buffers of a connection hold about that
      const waiters = () => (s as unknown as { waiters: unknown[] }).waiters.length;
      const writes = 6;
      for (let i = 0; i < writes; i++) {
        expect(await s.write(big, deadline(1000))).toMatchObject({ status: 'retryable', error: expect.stringMatching(/at the deadline/) });
        expect(waiters()).toBe(0);
      }
      // What was in flight at a deadline and still was at the next write: that connection was
      // dropped (its points counted as send_error) and the write went on a new one.
      expect(cap.connections).toBeGreaterThanOrEqual(2);
      expect(counters.dropped.send_error).toBeGreaterThan(0);
      cap.resume(); // the server reads again: the next write goes through
      expect(await s.write(big, deadline(5000))).toMatchObject({ status: 'ok' });
      expect(counters.buffered).toBe(0);
      // Every point is accounted for once; each write after the first also carries the 5 agent
      // counters and the 5 collector error and 5 series-dropped counters (and every write 5
      // collector durations and 5 collector series).
      const total = (writes + 1) * 10_014 + writes * 15;
      expect(counters.sent + (counters.dropped.deadline ?? 0) + (counters.dropped.send_error ?? 0)).toBe(total);
    } finally {
      await cap.close();
    }
  });
});

/** The fixture batch with its pid-300 namespace's gauges copied `n` times, each with a 1 kB label. */
function manyTargets(b: Batch, n: number): Batch {
  const tmpl = b.results.find((r) => r.target.pid === 300)!;
  const out = structuredClone(b);
  out.results = Array.from({ length: n }, (_, i) => ({
    target: { ...tmpl.target, netns: 5_000_000 + i, labels: { container_id: `c${i}`, netns_name: 'n'.repeat(1000) } },
    samples: tmpl.samples.filter((smp) => smp.def.kind === 'gauge'),
  }));
  return out;
}

async function waitUntil(ok: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}
