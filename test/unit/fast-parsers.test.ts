// The hot-path parsers read values in place and remember layouts (header names, the lines of a
// protocols file); they must say exactly what the plain parsers say, on real kernel text
// (test/fixtures/kernel/6.18: `fresh.*` is a new `unshare -n` namespace, `ns.*` one with a veth
// and traffic, `host.*` the host) and on any damaged variant of it, in any order.
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { decimal, decimalAt, wordSpans, words } from '../../src/procfs/lines';
import { parseSockstat } from '../../src/procfs/sockstat';
import { parseCounterTable } from '../../src/procfs/netstat';
import { parseNetDev } from '../../src/procfs/netdev';
import { protocols } from '../../src/collect/protocols';
import { Layouts } from '../../src/collect/protocol-layouts';
import { NetFiles } from '../../src/collect/netfiles';
import { refCounterTable, refNetDev, refSockstat } from '../helpers/reference-parsers';

const K = path.join(__dirname, '..', 'fixtures', 'kernel', '6.18');
const real = (f: string) => fs.readFileSync(path.join(K, f), 'latin1');
const CAPTURES = ['fresh', 'ns', 'host'] as const;

/** Real text, damaged: truncated, a word replaced, lines dropped, repeated or reordered, a CR, doubled spaces. */
const damaged = (text: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.nat(text.length).map((n) => text.slice(0, n)),
    fc.tuple(fc.nat(4000), fc.string({ unit: 'binary', maxLength: 12 })).map(([i, w]) => {
      const parts = text.split(/( |\t|\n)/);
      parts[(i * 2) % parts.length] = w;
      return parts.join('');
    }),
    fc.array(fc.nat(200), { maxLength: 100 }).map((idx) => {
      const lines = text.split('\n');
      return idx.map((i) => lines[i % lines.length]).join('\n');
    }),
    fc.nat(4000).map((i) => `${text.slice(0, i % (text.length + 1))}\r${text.slice(i % (text.length + 1))}`),
    fc.nat(4000).map((i) => `${text.slice(0, i % (text.length + 1))} ${text.slice(i % (text.length + 1))}`),
    fc.constant(text),
  );

describe('reading in place', () => {
  it('decimalAt reads what decimal reads from the same slice', () => {
    const word = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.stringMatching(/^-?[0-9]{1,20}$/));
    fc.assert(
      fc.property(word, fc.boolean(), (w, signed) => {
        expect(decimalAt(`x${w} `, 1, 1 + w.length, signed)).toBe(decimal(w, signed));
      }),
      { numRuns: 2000 },
    );
    expect(decimalAt('9007199254740991', 0, 16)).toBe(9007199254740991);
    expect(decimalAt('9007199254740993', 0, 16)).toBeUndefined();
  });

  it('wordSpans finds the words words() finds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        const spans: number[] = [];
        const n = wordSpans(s, 0, s.length, spans);
        expect(Array.from({ length: n }, (_, i) => s.slice(spans[2 * i], spans[2 * i + 1]))).toEqual(words(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the parsers equal the plain ones on any text', () => {
  const same = (a: unknown, b: unknown) => expect(JSON.stringify(a)).toBe(JSON.stringify(b));

  it('parseSockstat', () => {
    const texts = ['host.sockstat', 'host.sockstat6', 'mix.sockstat', 'mix.sockstat6', 'orphans.sockstat'].map(real);
    fc.assert(fc.property(fc.constantFrom(...texts).chain(damaged), (t) => same(parseSockstat(t), refSockstat(t))), { numRuns: 1000 });
  });

  it('parseCounterTable, whole or some sections, the header names remembered across texts', () => {
    const texts = [...CAPTURES.flatMap((c) => [`${c}.snmp`, `${c}.netstat`]), 'mix.snmp'].map(real);
    const only = fc.constantFrom(undefined, ['Tcp', 'Udp'], ['TcpExt']);
    fc.assert(fc.property(fc.constantFrom(...texts).chain(damaged), only, (t, o) => same(parseCounterTable(t, o), refCounterTable(t, o))), { numRuns: 1000 });
  });

  it('parseNetDev, the header remembered across texts', () => {
    const texts = CAPTURES.map((c) => real(`${c}.dev`));
    fc.assert(fc.property(fc.constantFrom(...texts).chain(damaged), (t) => same(parseNetDev(t), refNetDev(t))), { numRuns: 1000 });
  });
});

describe('the protocols collector reads a known layout in place', () => {
  type Files = Record<'snmp' | 'netstat' | 'snmp6', string | undefined>;
  const selections = [[...(protocols.config!.schema.include as { default: string[] }).default], ['.*'], ['Icmp6_.*', 'IcmpMsg_.*', 'Tcp_.*']];
  const make = (include: string[]) => protocols.create(protocols.config!.resolve({ include, exclude: [], max_counters: 100000 }, {}));
  /** One collect over `files`: the samples as [key, value] and the problems said per file. */
  const collect = (c: ReturnType<typeof make>, files: Files) => {
    const said: [string, readonly string[]][] = [];
    const kept = new Map<string, string>();
    const stub = {
      text: (f: keyof Files) => kept.get(f) ?? files[f],
      // As NetFiles gives them: the bytes in a longer buffer (what follows `len` is not the file's:
      // here '1's, so a reader that overruns gets other numbers).
      bytes: (f: 'netstat' | 'snmp6') => {
        const t = files[f];
        if (t === undefined) return null;
        const buf = Buffer.alloc(t.length + 16, 0x31);
        buf.write(t, 'latin1');
        return { buf, len: t.length };
      },
      keepText: (f: string, t: string) => kept.set(f, t),
      damaged: (f: string, p: readonly string[]) => p.length && said.push([f, [...p]]),
      report: () => undefined,
    };
    const samples = c.collect({ netns: 1, pid: 1, pidStart: 1, scope: 'container', containers: [], labels: {} }, stub as unknown as NetFiles);
    return { samples: samples.map((s) => [s.def.key, s.value]), said };
  };
  /** What a read can make of a text: latin1, one character per byte (a damaged text may hold others). */
  const asRead = (t: string): string => Buffer.from(t, 'latin1').toString('latin1');
  const capture = (c: string): Files => ({ snmp: real(`${c}.snmp`), netstat: real(`${c}.netstat`), snmp6: real(`${c}.snmp6`) });

  it('takes the layout of a file parsed clean, and gives what a first parse gives, for captures in any order', () => {
    const read = jest.spyOn(Layouts.prototype, 'read');
    for (const include of selections) {
      const warm = make(include);
      let inPlace: unknown[] = [];
      for (const c of ['fresh', 'fresh', 'ns', 'host', 'fresh', 'host', 'ns', 'ns']) {
        read.mockClear();
        const got = collect(warm, capture(c));
        inPlace = read.mock.results.map((r) => r.value);
        expect(got).toEqual(collect(make(include), capture(c)));
      }
      expect(inPlace.length).toBeGreaterThan(0);
      expect(inPlace.every((v) => v === true)).toBe(true); // the last round: every file in place
    }
    read.mockRestore();
  });

  it('on damaged text after it learned the real layouts, gives what a first parse gives', () => {
    for (const include of selections) {
      const warm = make(include);
      for (const c of CAPTURES) collect(warm, capture(c));
      const file = (f: keyof Files) => fc.constantFrom(...CAPTURES.map((c) => real(`${c}.${f}`))).chain(damaged);
      fc.assert(
        fc.property(file('snmp'), file('netstat'), file('snmp6'), (snmp, netstat, snmp6) => {
          const files = { snmp: asRead(snmp), netstat: asRead(netstat), snmp6: asRead(snmp6) };
          expect(collect(warm, files)).toEqual(collect(make(include), files));
        }),
        { numRuns: 300 },
      );
    }
  });
});
