// The protocols and interfaces collectors over a copy of the fixture proc tree (real kernel text,
// test/fixtures/proctree/README.md), with files removed or damaged: selection by pattern, the
// names users already chart, the bounds, and absent-not-zero.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CollectStage, activeCollector } from '../../src/collect/stage';
import { protocols } from '../../src/collect/protocols';
import { interfaces } from '../../src/collect/interfaces';
import { readPlan, sectionsOf } from '../../src/collect/protocol-plan';
import { counterDef, snake } from '../../src/collect/protocol-names';
import { loadConfig } from '../../src/config/load';
import { Target } from '../../src/core/model';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'proctree');
let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-proto-'));
  fs.cpSync(FIXTURE, root, { recursive: true, verbatimSymlinks: true });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const target: Target = { netns: 4026532300, pid: 300, pidStart: 5000, scope: 'container', containers: [], labels: {} };
const protoCfg = (include: string[], exclude: string[] = [], max = 512) => protocols.config!.resolve({ include, exclude, max_counters: max }, {});
const defaults = () => protoCfg([...(protocols.config!.schema.include as { default: string[] }).default]);

function run(stage: CollectStage) {
  const out = stage.run([target]);
  const samples = out.results[0]?.samples ?? [];
  return { out, v: Object.fromEntries(samples.map((s) => [s.labels ? `${s.def.key}{${s.labels.interface}}` : s.def.key, s.value])) };
}

describe('protocols collector', () => {
  it('reports the default selection: the former snmp counters under their keys, and TcpExt, IpExt, Ip6, Udp6', () => {
    const { out, v } = run(new CollectStage(root, [activeCollector(protocols, defaults())]));
    expect(out.errors).toEqual([]);
    expect(Object.keys(v).sort()).toEqual([
      'Ip6_InOctets', 'Ip6_OutOctets', 'IpExt_InOctets', 'IpExt_OutOctets',
      'TcpExt_ListenDrops', 'TcpExt_ListenOverflows', 'TcpExt_TCPAbortOnMemory', 'TcpExt_TCPAbortOnTimeout', 'TcpExt_TCPBacklogDrop',
      'TcpExt_TCPLostRetransmit', 'TcpExt_TCPSynRetrans', 'TcpExt_TCPTimeouts',
      'Udp6_InDatagrams', 'Udp6_InErrors', 'Udp6_NoPorts', 'Udp6_OutDatagrams', 'Udp6_RcvbufErrors', 'Udp6_SndbufErrors',
      'tcp_active_opens', 'tcp_attempt_fails', 'tcp_estab_resets', 'tcp_in_errs', 'tcp_out_rsts', 'tcp_passive_opens', 'tcp_retrans_segs',
      'udp_in_datagrams', 'udp_in_errors', 'udp_no_ports', 'udp_out_datagrams', 'udp_rcvbuf_errors', 'udp_sndbuf_errors',
    ]);
    expect(v).toMatchObject({ tcp_active_opens: 9, IpExt_InOctets: 147, Ip6_OutOctets: 432 });
  });

  it('keeps the names every backend already charts for the 13 former snmp counters', () => {
    const old = (key: string, unit: string) => {
      const [fam, ...rest] = key.split('_');
      return { key, falcon: `${fam}.${rest.join('_')}`, prom: `sockpulse_${key}_total`, otel: `sockpulse.${fam}.${rest.join('_')}`, unit, kind: 'counter', scope: 'namespace' };
    };
    const want: [string, string, ReturnType<typeof old>][] = [
      ['Tcp', 'ActiveOpens', old('tcp_active_opens', '{connection}')], ['Tcp', 'PassiveOpens', old('tcp_passive_opens', '{connection}')],
      ['Tcp', 'AttemptFails', old('tcp_attempt_fails', '{connection}')], ['Tcp', 'EstabResets', old('tcp_estab_resets', '{connection}')],
      ['Tcp', 'RetransSegs', old('tcp_retrans_segs', '{segment}')], ['Tcp', 'InErrs', old('tcp_in_errs', '{segment}')], ['Tcp', 'OutRsts', old('tcp_out_rsts', '{segment}')],
      ['Udp', 'InDatagrams', old('udp_in_datagrams', '{datagram}')], ['Udp', 'OutDatagrams', old('udp_out_datagrams', '{datagram}')],
      ['Udp', 'NoPorts', old('udp_no_ports', '{datagram}')], ['Udp', 'InErrors', old('udp_in_errors', '{datagram}')],
      ['Udp', 'RcvbufErrors', old('udp_rcvbuf_errors', '{datagram}')], ['Udp', 'SndbufErrors', old('udp_sndbuf_errors', '{datagram}')],
    ];
    for (const [s, f, names] of want) expect(counterDef(s, f)).toMatchObject(names);
    expect(counterDef('TcpExt', 'ListenOverflows')).toMatchObject({
      key: 'TcpExt_ListenOverflows', kind: 'counter', falcon: 'netstat.TcpExt.ListenOverflows',
      prom: 'sockpulse_netstat_tcp_ext_listen_overflows_total', otel: 'sockpulse.netstat.tcp_ext.listen_overflows',
    });
    expect(counterDef('Tcp', 'MaxConn')).toMatchObject({ kind: 'gauge', prom: 'sockpulse_netstat_tcp_max_conn' });
    expect(snake('TCPAbortOnTimeout')).toBe('tcp_abort_on_timeout');
  });

  it('selects by anchored include and exclude patterns on Section_Field names', () => {
    const { v } = run(new CollectStage(root, [activeCollector(protocols, protoCfg(['IcmpMsg_.*', 'Ip6_In.*', 'TcpExt_Listen'], ['Ip6_In(Mcast|Bcast).*']))]));
    expect(Object.keys(v).every((k) => /^(IcmpMsg_|Ip6_In)/.test(k))).toBe(true); // `TcpExt_Listen` matches no whole name
    expect(v).toMatchObject({ Ip6_InOctets: 224, Ip6_InReceives: 3 });
    expect(v).not.toHaveProperty('Ip6_InMcastOctets');
    expect(v).not.toHaveProperty('IcmpMsg_InType3'); // pid 300's snmp (the `mix` capture) has no IcmpMsg: absent, not 0
  });

  it('leaves out what a missing file would hold, without an error; a damaged file is an error naming it, the rest still read', () => {
    fs.rmSync(path.join(root, '300/net/snmp6'));
    fs.writeFileSync(path.join(root, '300/net/netstat'), 'TcpExt: ListenOverflows ListenDrops\nTcpExt: 4\nIpExt: InOctets\nIpExt: 7\n');
    const { out, v } = run(new CollectStage(root, [activeCollector(protocols, defaults())]));
    expect(Object.keys(v).filter((k) => /^(Ip6|Udp6|TcpExt)_/.test(k))).toEqual([]);
    expect(v).toMatchObject({ IpExt_InOctets: 7, tcp_active_opens: 9 });
    expect(out.errors).toEqual([expect.objectContaining({ code: 'EMALFORMED', message: `${root}/300/net/netstat: TcpExt: 2 names but 1 values` })]);
    expect(out.collectors.protocols.errors).toBe(1);
  });

  it('bounds the counters it reports and says so once', () => {
    const stage = new CollectStage(root, [activeCollector(protocols, protoCfg(['.*'], [], 5))]);
    const first = run(stage);
    expect(Object.keys(first.v)).toHaveLength(5);
    expect(first.out.errors).toEqual([expect.objectContaining({ code: 'ELIMIT', message: expect.stringContaining('collectors.protocols.max_counters') })]);
    const second = run(stage);
    expect(second.v).toEqual(first.v); // the same five
    expect(second.out.errors).toEqual([]);
  });

  it('reads only the files its patterns can select from', () => {
    expect(sectionsOf('TcpExt_.*')).toEqual(['TcpExt']);
    expect(sectionsOf('(Tcp|Udp6)_RetransSegs')).toEqual(['Tcp', 'Udp6']);
    expect(sectionsOf('(?:Ip|IpExt)_In.*')).toEqual(['Ip', 'IpExt']);
    expect(sectionsOf('TcpExt_A|Udp_B')).toBeUndefined(); // a top-level alternative could be anything
    expect(sectionsOf('Tcp_[|]x')).toEqual(['Tcp']); // a | in a character class is no alternative
    expect(sectionsOf('.*Octets')).toBeUndefined();
    expect([...readPlan(['Tcp_.*', 'Udp_X'])]).toEqual([['snmp', ['Tcp', 'Udp']]]);
    expect([...readPlan(['TcpExt_.*', 'Icmp6_.*'])]).toEqual([['netstat', ['TcpExt']], ['snmp6', undefined]]);
    expect([...readPlan(['Future_X'])]).toEqual([['snmp', ['Future']], ['netstat', ['Future']]]);
    expect([...readPlan(['.*'])]).toEqual([['snmp', undefined], ['netstat', undefined], ['snmp6', undefined]]);
    // Proven on the tree: with snmp6 unreadable, a TcpExt-only selection still reads cleanly.
    fs.writeFileSync(path.join(root, '300/net/snmp6'), 'garbage\n');
    expect(run(new CollectStage(root, [activeCollector(protocols, protoCfg(['TcpExt_.*']))])).out.errors).toEqual([]);
  });
});

describe('interfaces collector', () => {
  const ifCfg = (include: string[], exclude: string[], max = 64) => interfaces.config!.resolve({ include, exclude, max_interfaces: max }, {});

  it('reports bytes, packets, errors and drops each way per interface, lo left out by default', () => {
    const { out, v } = run(new CollectStage(root, [activeCollector(interfaces, ifCfg([], ['lo']))]));
    expect(out.errors).toEqual([]);
    expect(v).toEqual({
      'if_rx_bytes{eth0}': 381, 'if_rx_packets{eth0}': 5, 'if_rx_errors{eth0}': 0, 'if_rx_dropped{eth0}': 0,
      'if_tx_bytes{eth0}': 603, 'if_tx_packets{eth0}': 8, 'if_tx_errors{eth0}': 0, 'if_tx_dropped{eth0}': 0,
    });
  });

  it('selects interfaces by include/exclude patterns and bounds their number, saying so once', () => {
    expect(Object.keys(run(new CollectStage(root, [activeCollector(interfaces, ifCfg(['lo'], []))])).v)).toEqual(expect.arrayContaining(['if_rx_bytes{lo}']));
    expect(run(new CollectStage(root, [activeCollector(interfaces, ifCfg(['e.*'], ['eth0']))])).out.results).toEqual([]);
    const stage = new CollectStage(root, [activeCollector(interfaces, ifCfg([], [], 1))]);
    const first = run(stage);
    expect(Object.keys(first.v).every((k) => k.endsWith('{lo}'))).toBe(true); // the kernel's order: lo first
    expect(first.out.errors).toEqual([expect.objectContaining({ code: 'ELIMIT' })]);
    expect(run(stage).out.errors).toEqual([]);
  });

  it('reports nothing, and no error, when dev is missing; a damaged dev is an error naming it', () => {
    fs.rmSync(path.join(root, '300/net/dev'));
    expect(run(new CollectStage(root, [activeCollector(interfaces, ifCfg([], ['lo']))])).out).toMatchObject({ results: [], errors: [] });
    fs.writeFileSync(path.join(root, '300/net/dev'), 'x\n face |bytes|bytes\n eth0: 1\n');
    expect(run(new CollectStage(root, [activeCollector(interfaces, ifCfg([], ['lo']))])).out.errors).toEqual([
      expect.objectContaining({ code: 'EMALFORMED', message: `${root}/300/net/dev: eth0: 1 values, expected 2` }),
    ]);
  });
});

describe('configuration of the selections', () => {
  const env = { SOCKPULSE_DISCOVERY: 'procfs', SOCKPULSE_PROC_ROOT: FIXTURE };

  it.each([
    ['SOCKPULSE_PROTOCOLS_INCLUDE', 'collectors.protocols.include: "Tcp_(" is not a valid regular expression'],
    ['SOCKPULSE_PROTOCOLS_EXCLUDE', 'collectors.protocols.exclude: "Tcp_(" is not a valid regular expression'],
    ['SOCKPULSE_INTERFACES_INCLUDE', 'collectors.interfaces.include: "Tcp_(" is not a valid regular expression'],
    ['SOCKPULSE_INTERFACES_EXCLUDE', 'collectors.interfaces.exclude: "Tcp_(" is not a valid regular expression'],
  ])('a pattern that is not a regular expression in %s fails at load, naming the key', (name, message) => {
    expect(() => loadConfig({ env: { ...env, [name]: 'Tcp_(' } })).toThrow(message);
  });

  it('tells where the former collectors.snmp_counters went', () => {
    const file = path.join(root, 'old.yaml');
    fs.writeFileSync(file, 'collectors:\n  snmp_counters:\n    enabled: false\n');
    expect(() => loadConfig({ env, file })).toThrow(/collectors\.snmp_counters is now collectors\.protocols/);
  });

  it('refuses a copied label named like a sample\'s own label', () => {
    expect(() => loadConfig({ env: { ...env, SOCKPULSE_DOCKER_COPY_LABELS: 'interface' } })).toThrow(/docker\.copy_labels: interface would overwrite/);
  });
});
