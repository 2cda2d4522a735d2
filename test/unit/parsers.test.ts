// Parsers are pure: table tests on real kernel text (test/fixtures/kernel/6.18, captured on
// 6.18.44) and on damaged variants of it.
import * as fs from 'fs';
import * as path from 'path';
import { parseSockstat } from '../../src/procfs/sockstat';
import { TcpHeaderMemo, parseSnmp, tcpCurrEstab } from '../../src/procfs/snmp';
import { parseStartTime } from '../../src/discover/proc-scan';
import { parseNsLink } from '../../src/procfs/read';

const K = path.join(__dirname, '..', 'fixtures', 'kernel', '6.18');
const read = (f: string): string => fs.readFileSync(path.join(K, f), 'latin1');

describe('parseSockstat', () => {
  it('reads every line of a real sockstat', () => {
    const s = parseSockstat(read('mix.sockstat'));
    expect(s.sockets).toEqual({ used: 18 });
    expect(s.TCP).toEqual({ inuse: 10, orphan: 0, tw: 3, alloc: 16, mem: 142 });
    expect(s.UDP).toEqual({ inuse: 2, mem: 0 });
    expect(s.FRAG).toEqual({ inuse: 0, memory: 0 });
  });

  it('reads a real sockstat6', () => {
    const s = parseSockstat(read('mix.sockstat6'));
    expect(s.TCP6).toEqual({ inuse: 5 });
    expect(s.UDP6).toEqual({ inuse: 1 });
  });

  it.each([
    ['empty', '', {}],
    ['no trailing newline', 'TCP: inuse 3 tw 1', { TCP: { inuse: 3, tw: 1 } }],
    ['truncated mid-line', 'sockets: used 3\nTCP: inuse', { sockets: { used: 3 }, TCP: {} }],
    ['truncated after a name', 'TCP: inuse 4 orphan', { TCP: { inuse: 4 } }],
    ['extra unknown fields', 'TCP: inuse 1 future 9 tw 2', { TCP: { inuse: 1, future: 9, tw: 2 } }],
    ['non-numeric value', 'TCP: inuse x tw 2', { TCP: { tw: 2 } }],
    ['negative value', 'TCP: inuse -1 tw 2', { TCP: { tw: 2 } }],
    ['fractional value', 'TCP: inuse 1.5 tw 2', { TCP: { tw: 2 } }],
    ['exponent and hex forms', 'TCP: inuse 1e3 tw 0x2 alloc 007', { TCP: { alloc: 7 } }],
    ['garbage line', 'no colon here\n:\nTCP: inuse 1', { TCP: { inuse: 1 } }],
    ['CRLF and tabs', 'TCP:\tinuse 7\ttw 1\r\n', { TCP: { inuse: 7, tw: 1 } }],
  ])('%s', (_name, text, want) => {
    expect(parseSockstat(text)).toEqual(want);
  });
});

describe('parseSnmp', () => {
  it('reads CurrEstab and the other Tcp fields of a real snmp', () => {
    const s = parseSnmp(read('mix.snmp'));
    expect(s.Tcp.CurrEstab).toBe(11);
    expect(s.Tcp.MaxConn).toBe(-1); // -1 means "no limit": negative values are legal here
    // The kernel writes IcmpMsg only once an ICMP message was seen: a fresh namespace has none.
    expect(Object.keys(s)).toEqual(['Ip', 'Icmp', 'Tcp', 'Udp', 'UdpLite']);
    expect(Object.keys(parseSnmp(read('host.snmp')))).toContain('IcmpMsg');
  });

  it('splits only the protocols asked for', () => {
    expect(Object.keys(parseSnmp(read('host.snmp'), ['Tcp', 'Udp']))).toEqual(['Tcp', 'Udp']);
    expect(parseSnmp(read('mix.snmp'), ['Tcp']).Tcp.CurrEstab).toBe(11);
  });

  it.each([
    ['empty', '', {}],
    ['a lone minus sign and exponent forms', 'Tcp: A B C\nTcp: - 1e3 0x1', {Tcp: {}}],
    ['header without values', 'Tcp: A B CurrEstab', {}],
    ['values line of another protocol', 'Tcp: A CurrEstab\nUdp: 1 2', {}],
    ['more values than names', 'Tcp: A CurrEstab\nTcp: 1 2 3', {}],
    ['fewer values than names (truncated)', 'Tcp: A CurrEstab\nTcp: 1', {}],
    ['non-numeric value', 'Tcp: A CurrEstab\nTcp: 1 x', { Tcp: { A: 1 } }],
    ['a damaged section does not hide the next', 'Ip: A\nIp: 1 2\nTcp: CurrEstab\nTcp: 4', { Tcp: { CurrEstab: 4 } }],
  ])('%s', (_name, text, want) => {
    expect(parseSnmp(text)).toEqual(want);
  });
});

describe('tcpCurrEstab (in place, no sections)', () => {
  const memo = (): TcpHeaderMemo => ({ count: 0, at: -1 });

  it.each(['mix.snmp', 'host.snmp'])('%s: the same CurrEstab as the full parse, with a header memo or a fresh one', (f) => {
    const text = read(f);
    const m = memo();
    expect(tcpCurrEstab(text, m)).toBe(parseSnmp(text).Tcp.CurrEstab);
    expect(m.at).toBeGreaterThanOrEqual(0);
    expect(tcpCurrEstab(text, m)).toBe(parseSnmp(text).Tcp.CurrEstab); // the memo's header matches now
  });

  it('a header unlike the remembered one is read afresh (CurrEstab elsewhere on the line)', () => {
    const m = memo();
    expect(tcpCurrEstab('Tcp: A CurrEstab B\nTcp: 1 7 2\n', m)).toBe(7);
    expect(tcpCurrEstab('Tcp: CurrEstab A\nTcp: 9 1\n', m)).toBe(9);
    expect(tcpCurrEstab('Ip: X\nIp: 1\nTcp: B CurrEstab\nTcp: 3 5', m)).toBe(5);
  });

  it.each([
    ['empty', ''],
    ['no Tcp section', 'Ip: A\nIp: 1\n'],
    ['header without values', 'Tcp: A B CurrEstab'],
    ['values line of another protocol', 'Tcp: A CurrEstab\nUdp: 1 2'],
    ['more values than names', 'Tcp: A CurrEstab\nTcp: 1 2 3'],
    ['fewer values than names (truncated)', 'Tcp: A CurrEstab\nTcp: 1'],
    ['non-numeric CurrEstab', 'Tcp: A CurrEstab\nTcp: 1 x'],
    ['negative CurrEstab', 'Tcp: A CurrEstab\nTcp: 1 -2'],
    ['no CurrEstab in the header', 'Tcp: A B\nTcp: 1 2'],
  ])('undefined (the caller parses the slow way and says what is wrong): %s', (_name, text) => {
    expect(tcpCurrEstab(text, memo())).toBeUndefined();
  });
});

describe('parseStartTime', () => {
  it('finds field 22 even when comm holds spaces and parentheses', () => {
    const rest = 'S 1 2 3 0 -1 4194560 100 0 0 0 1 0 0 0 20 0 1 0 16053 2322432';
    expect(parseStartTime(`3070 (sleep) ${rest}`)).toBe(16053);
    expect(parseStartTime(`3070 (a) (b c) ${rest}`)).toBe(16053);
  });
  it('is undefined for a truncated stat', () => {
    expect(parseStartTime('3070 (sleep) S 1 2')).toBeUndefined();
  });
});

describe('parseNsLink', () => {
  it('reads the inode of a namespace link', () => {
    expect(parseNsLink('net:[4026531840]')).toBe(4026531840);
  });
  it('rejects anything else with a named code', () => {
    expect(() => parseNsLink('mnt:[1]')).toThrow(expect.objectContaining({ code: 'EBADNSLINK' }));
  });
});
