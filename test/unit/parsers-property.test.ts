// Malformed kernel text, property-based: arbitrary and damaged sockstat/sockstat6/snmp go through
// the parsers and the real collect stage (over a temporary proc tree). No throw may escape, and no
// sample may be NaN, fractional, negative or beyond 2^53: absent is fine, wrong is not.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { CollectStage } from '../../src/collect/stage';
import { Target } from '../../src/core/model';
import { parseSnmp } from '../../src/procfs/snmp';
import { parseSockstat } from '../../src/procfs/sockstat';

const K = path.join(__dirname, '..', 'fixtures', 'kernel', '6.18');
const real = (f: string) => fs.readFileSync(path.join(K, f), 'latin1');
const REAL = { sockstat: real('mix.sockstat'), sockstat6: real('mix.sockstat6'), snmp: real('mix.snmp') };

/** Real text, damaged: truncated, words replaced by anything, lines dropped or repeated. */
const damaged = (text: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.nat(text.length).map((n) => text.slice(0, n)),
    fc.tuple(fc.nat(400), fc.string({ unit: 'binary', maxLength: 12 })).map(([i, w]) => {
      const words = text.split(/( |\n)/);
      words[(i * 2) % words.length] = w;
      return words.join('');
    }),
    fc.array(fc.nat(20), { maxLength: 12 }).map((idx) => {
      const lines = text.split('\n');
      return idx.map((i) => lines[i % lines.length]).join('\n');
    }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom('', '\n', ':', 'TCP:', 'TCP: inuse -1 tw 1e3', 'Tcp: CurrEstab\nTcp: 99999999999999999999', 'Tcp: CurrEstab\nTcp: NaN'),
  );

const isCount = (v: number) => Number.isSafeInteger(v) && v >= 0;
const isInteger = (v: number) => Number.isSafeInteger(v);

describe('parsers never throw and never invent numbers', () => {
  it('parseSockstat: every field is a non-negative safe integer', () => {
    fc.assert(
      fc.property(fc.oneof(damaged(REAL.sockstat), damaged(REAL.sockstat6)), (text) => {
        for (const fields of Object.values(parseSockstat(text))) for (const v of Object.values(fields)) expect(isCount(v)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('parseSnmp: every field is a safe integer', () => {
    fc.assert(
      fc.property(damaged(REAL.snmp), (text) => {
        for (const fields of Object.values(parseSnmp(text))) for (const v of Object.values(fields)) expect(isInteger(v)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the collect stage on damaged files', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-prop-'));
    fs.mkdirSync(path.join(root, '7', 'net'), { recursive: true });
    fs.mkdirSync(path.join(root, '7', 'ns'));
    fs.symlinkSync('net:[4026530007]', path.join(root, '7', 'ns', 'net'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('emits only non-negative whole counts, reports damage as errors, and never throws', () => {
    const stage = new CollectStage(root);
    const target = (scope: Target['scope']): Target => ({ netns: 4026530007, pid: 7, pidStart: 1, scope, containers: [], labels: {} });
    fc.assert(
      fc.property(damaged(REAL.sockstat), fc.option(damaged(REAL.sockstat6)), damaged(REAL.snmp), fc.constantFrom<Target['scope']>('host', 'container'), (s4, s6, snmp, scope) => {
        fs.writeFileSync(path.join(root, '7', 'net', 'sockstat'), s4);
        if (s6 === null) fs.rmSync(path.join(root, '7', 'net', 'sockstat6'), { force: true });
        else fs.writeFileSync(path.join(root, '7', 'net', 'sockstat6'), s6);
        fs.writeFileSync(path.join(root, '7', 'net', 'snmp'), snmp);
        const out = stage.run([target(scope)]);
        expect(out.skipped).toEqual([]);
        for (const r of out.results) {
          for (const s of r.samples) expect(isCount(s.value)).toBe(true);
          if (scope !== 'host') expect(r.samples.some((s) => s.def.scope === 'host')).toBe(false);
        }
        for (const e of out.errors) expect(e).toMatchObject({ stage: 'collect', code: 'EMALFORMED' });
        stage.run([]); // release the kept descriptors: the next run rewrites the files
      }),
      { numRuns: 300 },
    );
  });
});
