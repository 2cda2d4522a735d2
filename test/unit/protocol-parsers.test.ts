// Parsers of netstat/snmp, snmp6 and dev on real kernel text (test/fixtures/kernel/6.18: the
// `ns.*` capture is a namespace with a veth eth0 and a little traffic), and on damaged text:
// what is wrong is said, what is missing is absent, never 0.
import * as fs from 'fs';
import * as path from 'path';
import { parseCounterTable } from '../../src/procfs/netstat';
import { parseSnmp6 } from '../../src/procfs/snmp6';
import { parseNetDev } from '../../src/procfs/netdev';

const read = (f: string) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'kernel', '6.18', f), 'latin1');

describe('parseCounterTable (netstat, snmp)', () => {
  it('reads every section of real netstat and snmp text, with no problem', () => {
    const netstat = parseCounterTable(read('ns.netstat'));
    expect(netstat.problems).toEqual([]);
    expect(Object.keys(netstat.sections)).toEqual(expect.arrayContaining(['TcpExt', 'IpExt']));
    expect(netstat.sections.TcpExt).toMatchObject({ ListenOverflows: 0, ListenDrops: 0, TCPTimeouts: 0 });
    expect(netstat.sections.IpExt).toMatchObject({ InOctets: 147, OutOctets: 119 });
    const host = parseCounterTable(read('host.netstat'));
    expect(host.problems).toEqual([]);
    expect(Object.keys(host.sections.TcpExt).length).toBeGreaterThan(100);
    const snmp = parseCounterTable(read('ns.snmp'));
    expect(snmp.problems).toEqual([]);
    expect(snmp.sections.IcmpMsg).toEqual({ InType3: 2, OutType3: 1 });
    expect(snmp.sections.Tcp.MaxConn).toBe(-1);
  });

  it('leaves a section the kernel did not write absent (a fresh namespace has no IcmpMsg)', () => {
    const t = parseCounterTable(read('mix.snmp'));
    expect(t.problems).toEqual([]);
    expect(t.sections.IcmpMsg).toBeUndefined();
  });

  it('splits only the sections asked for, and still says a header has lost its values', () => {
    const t = parseCounterTable('TcpExt: A B\nTcpExt: 1 2\nIpExt: C\nIpExt: x\n', ['TcpExt']);
    expect(t).toEqual({ sections: { TcpExt: { A: 1, B: 2 } }, problems: [] });
    expect(parseCounterTable('IpExt: C\nTcpExt: A\nTcpExt: 1\n', ['TcpExt']).problems).toEqual(['IpExt: a header line without its values']);
  });

  it.each<[string, string, object, string[]]>([
    ['a header without its values (truncated file)', 'Tcp: A B\nTcp: 1 2\nUdp: X Y\n', { Tcp: { A: 1, B: 2 } }, ['Udp: a header line without its values']],
    ['names and values that do not pair up: the whole section is left out', 'Tcp: A B C\nTcp: 1 2\nUdp: X\nUdp: 5\n', { Udp: { X: 5 } }, ['Tcp: 3 names but 2 values']],
    ['a value that is not a whole number: that field is left out', 'Tcp: A B\nTcp: 1 2x\n', { Tcp: { A: 1 } }, ['Tcp B: "2x" is not a whole number']],
    ['a line without a section', 'Tcp: A\nTcp: 1\ngarbage\n', { Tcp: { A: 1 } }, ['a line without a section name: "garbage"']],
    ['a counter beyond 2^53 (not exactly representable)', 'IpExt: InOctets\nIpExt: 18446744073709551615\n', { IpExt: {} }, ['IpExt InOctets: "18446744073709551615" is not a whole number']],
  ])('says what is wrong: %s', (_name, text, sections, problems) => {
    expect(parseCounterTable(text)).toEqual({ sections, problems });
  });
});

describe('parseSnmp6', () => {
  it('splits real snmp6 names into section and field, with no problem', () => {
    const t = parseSnmp6(read('ns.snmp6'));
    expect(t.problems).toEqual([]);
    expect(Object.keys(t.sections)).toEqual(expect.arrayContaining(['Ip6', 'Icmp6', 'Udp6', 'UdpLite6']));
    expect(t.sections.Ip6).toMatchObject({ InOctets: 224, OutOctets: 432, InReceives: 3 });
    expect(t.sections.Udp6).toMatchObject({ InDatagrams: 0, RcvbufErrors: 0 });
    expect(parseSnmp6(read('host.snmp6')).problems).toEqual([]);
  });

  it('says what is wrong and keeps the rest', () => {
    expect(parseSnmp6('Ip6InOctets 5\nIp6OutOctets\nnonsense 3\nUdp6InErrors -1\n\n')).toEqual({
      sections: { Ip6: { InOctets: 5 } },
      problems: ['not a "<Section>6<Field> <value>" line: "Ip6OutOctets"', 'not a "<Section>6<Field> <value>" line: "nonsense 3"', 'Udp6InErrors: "-1" is not a whole number'],
    });
  });
});

describe('parseNetDev', () => {
  it('reads every interface of real dev text, field names from the header', () => {
    const d = parseNetDev(read('ns.dev'));
    expect(d.problems).toEqual([]);
    expect(d.devices.map((x) => x.name)).toEqual(['lo', 'eth0']);
    expect(d.devices[1]).toEqual({
      name: 'eth0',
      rx: { bytes: 381, packets: 5, errs: 0, drop: 0, fifo: 0, frame: 0, compressed: 0, multicast: 0 },
      tx: { bytes: 603, packets: 8, errs: 0, drop: 0, fifo: 0, colls: 0, carrier: 0, compressed: 0 },
    });
    expect(parseNetDev(read('host.dev')).devices.map((x) => x.name)).toEqual(['lo', 'ifb0', 'ifb1', 'eth0']);
  });

  it('takes a long interface name glued to its first number', () => {
    const head = read('ns.dev').split('\n').slice(0, 2).join('\n');
    const d = parseNetDev(`${head}\nveth1234567890ab:12 1 0 0 0 0 0 0 34 2 0 0 0 0 0 0\n`);
    expect(d.devices[0]).toMatchObject({ name: 'veth1234567890ab', rx: { bytes: 12, packets: 1 }, tx: { bytes: 34, packets: 2 } });
  });

  it.each<[string, string, string[], string[]]>([
    ['a damaged header', 'Inter-|\n face bytes packets\n  lo: 1 2\n', [], ['the second header line is not "face |<receive fields>|<transmit fields>"', 'lo: 2 values, expected 0']],
    ['a line with too few values', 'x\n face |bytes packets|bytes packets\n  lo: 1 2 3\n eth0: 1 2 3 4\n', ['eth0'], ['lo: 3 values, expected 4']],
    ['a value that is not a number', 'x\n face |bytes packets|bytes packets\n eth0: 1 2 3 z\n', ['eth0'], ['eth0 transmit packets: "z" is not a whole number']],
    ['an empty file', '', [], ['no header lines']],
  ])('says what is wrong: %s', (_name, text, names, problems) => {
    const d = parseNetDev(text);
    expect(d.devices.map((x) => x.name)).toEqual(names);
    expect(d.problems).toEqual(problems);
  });
});
