// The conntrack table parser on real kernel text (test/fixtures/kernel/6.18/nf_conntrack*,
// captured on 6.18.44 with nf_conntrack_acct=1 and, for some lines, nf_conntrack_timestamp=1 and
// an nftables `ct zone set 5`), and on damaged lines: each is counted and named, never thrown.
import * as fs from 'fs';
import * as path from 'path';
import { ConntrackEntry, fillAddresses, parseConntrack } from '../../src/procfs/nf-conntrack';
import { parseFibTrieLocal, parseIfInet6 } from '../../src/procfs/addresses';

const K = path.join(__dirname, '..', 'fixtures', 'kernel', '6.18');
const read = (f: string): string => fs.readFileSync(path.join(K, f), 'latin1');

/** Copies of every entry (the parser reuses one object). */
type Plain = Omit<ConntrackEntry, 'at' | 'text'>;
function entries(text: string, lazy = false): { list: Plain[]; parse: ReturnType<typeof parseConntrack> } {
  const list: Plain[] = [];
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const parse = parseConntrack(text, ({ at, text: _t, ...rest }) => list.push(rest), lazy);
  return { list, parse };
}

const V6_LO = '0000:0000:0000:0000:0000:0000:0000:0001';

describe('parseConntrack on real kernel lines', () => {
  const { list, parse } = entries(read('nf_conntrack'));

  it('reads every line, none malformed, all accounted', () => {
    expect(parse).toEqual({ entries: 6, unaccounted: 0, malformed: 0, samples: [] });
  });

  it('reads an IPv4 TCP entry: both tuples, counters per direction, state and flags', () => {
    expect(list[1]).toEqual({
      family: 4, proto: 'tcp', protoNum: 6, state: 'ESTABLISHED',
      origSrc: '127.0.0.1', origDst: '127.0.0.1', origSport: 57514, origDport: 5000,
      replySrc: '127.0.0.1', replyDst: '127.0.0.1', replySport: 5000, replyDport: 57514,
      origPackets: 3, origBytes: 264, replyPackets: 2, replyBytes: 112,
      assured: true, unreplied: false, zone: 0, mark: 0, age: -1,
      tuple: 'src=127.0.0.1 dst=127.0.0.1 sport=57514 dport=5000',
    });
  });

  it('reads IPv6 addresses in the kernel\'s full form, [UNREPLIED], delta-time and zones', () => {
    expect(list[0]).toMatchObject({ family: 6, proto: 'udp', protoNum: 17, state: '', origSrc: V6_LO, origSport: 48956, origDport: 6000, origBytes: 58, replyBytes: 0, replyPackets: 0, unreplied: true, assured: false });
    expect(list[3]).toMatchObject({ family: 6, proto: 'tcp', origBytes: 1296, origPackets: 4, replyBytes: 234, replyPackets: 3, age: 0 });
    expect(list[5]).toMatchObject({ proto: 'udp', zone: 5, origDport: 7000 });
  });

  it('reads ICMP: no ports, the type/code/id in the tuple text', () => {
    expect(list[4]).toMatchObject({ proto: 'icmp', protoNum: 1, origSport: -1, origDport: -1, origBytes: 28, replyBytes: 28, tuple: 'src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=1' });
  });

  it('counts entries without accounting (nf_conntrack_acct=0) and marks their counters absent', () => {
    const r = entries(read('nf_conntrack.noacct'));
    expect(r.parse).toMatchObject({ entries: 1, unaccounted: 1, malformed: 0 });
    expect(r.list[0]).toMatchObject({ origBytes: -1, origPackets: -1, replyBytes: -1, replyPackets: -1, origSport: 57296, replySport: 5000, assured: true });
    expect(r.list[0].tuple).toBe('src=127.0.0.1 dst=127.0.0.1 sport=57296 dport=5000');
  });

  it('lazy: addresses are sliced only on demand (fillAddresses), the rest is the same', () => {
    const lazy = entries(read('nf_conntrack'), true).list;
    expect(lazy.map((e) => e.origSrc)).toEqual(['', '', '', '', '', '']);
    const filled: Plain[] = [];
    parseConntrack(read('nf_conntrack'), (e) => {
      fillAddresses(e);
      const { at: _a, text: _t, ...rest } = e; // eslint-disable-line @typescript-eslint/no-unused-vars
      filled.push(rest);
    }, true);
    expect(filled).toEqual(list);
  });

  it('hands over a reused entry: fields of one line never leak into the next', () => {
    const seen: number[] = [];
    let same: ConntrackEntry | undefined;
    parseConntrack(read('nf_conntrack'), (e) => {
      if (same && same !== e) throw new Error('a new object per entry');
      same = e;
      seen.push(e.age);
    });
    expect(seen).toEqual([-1, -1, -1, 0, 0, 0]);
  });
});

describe('parseConntrack on damaged lines', () => {
  const good = read('nf_conntrack').split('\n')[1];
  const cases: [string, string, RegExp][] = [
    ['unknown family', good.replace('ipv4     2', 'ipx      2'), /unknown address family "ipx"/],
    ['family number mismatch', good.replace('ipv4     2', 'ipv4     10'), /does not match/],
    ['no protocol number', good.replace('tcp      6', 'tcp      x'), /no protocol number/],
    ['bad port', good.replace('sport=57514', 'sport=99999'), /bad port "sport=99999"/],
    ['bad counter', good.replace('bytes=264', 'bytes=-1'), /bad counter "bytes=-1"/],
    ['a counter beyond 2^53', good.replace('bytes=264', 'bytes=99999999999999999'), /bad counter/],
    ['no reply tuple', good.slice(0, good.indexOf(' src=127.0.0.1 dst=127.0.0.1 sport=5000')), /no reply tuple/],
    ['no tuple at all', 'ipv4     2 tcp      6 431999 ESTABLISHED', /no original tuple/],
    ['a field before the tuple', good.replace('ESTABLISHED src=', 'ESTABLISHED bytes=3 src='), /"bytes=" before the original tuple/],
    ['three tuples', `${good} src=1.1.1.1`, /more than two tuples/],
    ['a stray word inside', good.replace('[ASSURED]', 'garbage'), /unexpected word "garbage"/],
    ['a tuple without dst', good.replace('dst=127.0.0.1 sport=5000', 'sport=5000'), /lacks src= or dst=/],
    ['truncated after the protocol name', good.slice(0, 20), /no protocol number/],
    ['truncated inside the tuple', good.slice(0, good.indexOf(' dst=')), /no reply tuple/],
  ];
  it.each(cases)('%s → counted and named, the other lines still read', (_name, bad, why) => {
    const text = `${good}\n${bad}\n${good}\n`;
    const r = entries(text);
    expect(r.parse.entries).toBe(2);
    expect(r.parse.malformed).toBe(1);
    expect(r.parse.samples).toHaveLength(1);
    expect(r.parse.samples[0].reason).toMatch(why);
    expect(r.list.every((e) => e.origBytes === 264)).toBe(true);
  });

  it('keeps at most five malformed samples but counts them all; an empty table is no entries', () => {
    const r = entries(Array(9).fill('nonsense').join('\n'));
    expect(r.parse).toMatchObject({ entries: 0, malformed: 9 });
    expect(r.parse.samples).toHaveLength(5);
    expect(entries('').parse).toEqual({ entries: 0, unaccounted: 0, malformed: 0, samples: [] });
  });
});

describe('a namespace\'s own addresses (fib_trie, if_inet6 of a namespace with 10.5.5.5/24, 10.6.0.7/16, fd00::5/64 on a veth)', () => {
  it('IPv4: the /32 host LOCAL leaves, without loopback, each once', () => {
    expect(parseFibTrieLocal(read('mix.fib_trie'))).toEqual(['10.5.5.5', '10.6.0.7']);
  });
  it('IPv6: global scope only, in the kernel\'s full form', () => {
    expect(parseIfInet6(read('mix.if_inet6'))).toEqual(['fd00:0000:0000:0000:0000:0000:0000:0005']);
  });
  it('damaged text gives what can be read, never a throw', () => {
    expect(parseFibTrieLocal('|-- 10.0.0.1\n   /32 link BROADCAST\n|-- 10.0.0.2\n')).toEqual([]);
    expect(parseIfInet6('zz 01 80 00 80 lo\n')).toEqual([]);
  });
});
