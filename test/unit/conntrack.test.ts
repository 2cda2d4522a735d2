// The conntrack collector on real kernel text: the stat file's columns by header name (6.18 as
// captured from a namespace with 6 tracked connections; the 3.10 header, which has other
// columns), the host-wide table limit on the host only, and absent (not 0) without the module.
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { parseConntrackStat } from '../../src/procfs/nf-conntrack-stat';
import { conntrack } from '../../src/collect/conntrack';
import { CollectStage, activeCollector } from '../../src/collect/stage';
import { makeProcTree } from '../helpers/proc-tree';

const K = path.join(__dirname, '..', 'fixtures', 'kernel', '6.18');
const read = (f: string): string => fs.readFileSync(path.join(K, f), 'latin1');

// The 3.10 header (net/netfilter/nf_conntrack_standalone.c of 3.10): searched and delete_list,
// no clashres or chainlength; a trailing space before the newline.
const V310 =
  'entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n' +
  '0000012c  00000010 00000005 00000003 00000000 00000000 00000002 00000000 00000003 00000001 00000002 00000000 00000000  00000000 00000000 00000000 00000004 \n' +
  '0000012c  00000020 0000000a 00000001 00000000 00000000 00000001 00000000 00000001 00000000 00000003 00000001 00000000  00000000 00000000 00000000 00000000 \n';
// Before search_restart existed (3.x kernels' 16 columns).
const NO_RESTART =
  'entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete\n' +
  '00000002  00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 \n';

describe('parseConntrackStat', () => {
  it('reads the 6.18 file: entries from the first column, once, not summed over CPUs', () => {
    expect(parseConntrackStat(read('mix.nf_conntrack'))).toEqual({
      entries: 6,
      cpus: 2,
      counters: expect.objectContaining({ found: 0, insert_failed: 0, drop: 0, early_drop: 0, search_restart: 0, clashres: 0, chainlength: 0 }),
    });
  });

  it('reads the 3.10 columns by name and sums every counter over the CPU lines', () => {
    const s = parseConntrackStat(V310)!;
    expect(s.entries).toBe(300);
    expect(s.counters).toMatchObject({ searched: 0x30, found: 15, insert_failed: 1, drop: 5, early_drop: 1, search_restart: 4, delete_list: 0 });
    expect(s.counters).not.toHaveProperty('clashres');
  });

  it('leaves a column the kernel does not print out', () => {
    expect(parseConntrackStat(NO_RESTART)!.counters).not.toHaveProperty('search_restart');
  });

  it('any file printed the kernel\'s way parses to its entries and per-column sums', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), u32, fc.array(fc.array(u32, { minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 8 }), (n, entries, rows) => {
        const names = ['entries', ...Array.from({ length: n }, (_, i) => `c${i}`)];
        const hex = (v: number): string => v.toString(16).padStart(8, '0');
        const text = `${names.join(' ')}\n${rows.map((r) => `${hex(entries)}  ${r.slice(0, n).map(hex).join(' ')}\n`).join('')}`;
        const s = parseConntrackStat(text)!;
        expect(s.entries).toBe(entries);
        expect(s.cpus).toBe(rows.length);
        names.slice(1).forEach((name, i) => expect(s.counters[name]).toBe(rows.reduce((sum, r) => sum + r[i], 0)));
      }),
    );
  });

  it.each([
    ['empty', ''],
    ['header only', 'entries  found drop\n'],
    ['not this file', 'sockets: used 3\n'],
    ['a line shorter than the header', 'entries found drop\n00000001 00000002\n'],
    ['a value that is not hex', 'entries found drop\n00000001 0000000g 00000000\n'],
    ['a value wider than 32 bits', 'entries found drop\n00000001 100000000 00000000\n'],
  ])('%s → undefined', (_name, text) => {
    expect(parseConntrackStat(text)).toBeUndefined();
  });
});

describe('conntrack collector', () => {
  const host = { pid: 1, netns: 4026531840, scope: 'host' as const };
  const pod = { pid: 300, netns: 4026532300, scope: 'container' as const };
  const sockstat = read('mix.sockstat');

  it('reports entries and counters per namespace, and the table limit on the host only', () => {
    const tree = makeProcTree(
      [
        { ...host, net: { sockstat, 'stat/nf_conntrack': V310 } },
        { ...pod, net: { sockstat, 'stat/nf_conntrack': read('mix.nf_conntrack') } },
      ],
      { 'sys/net/netfilter/nf_conntrack_max': '262144\n' },
    );
    const stage = new CollectStage(tree.dir, [activeCollector(conntrack)]);
    try {
      const out = stage.run(tree.targets);
      expect(out.errors).toEqual([]);
      const values = out.results.map((r) => Object.fromEntries(r.samples.map((s) => [`${s.def.scope}:${s.def.key}`, s.value])));
      expect(values[0]).toEqual({
        'namespace:conntrack_entries': 300,
        'namespace:conntrack_found': 15,
        'namespace:conntrack_insert_failed': 1,
        'namespace:conntrack_drop': 5,
        'namespace:conntrack_early_drop': 1,
        'namespace:conntrack_search_restart': 4,
        'host:conntrack_max': 262144,
      });
      expect(values[1]).toEqual({
        'namespace:conntrack_entries': 6,
        'namespace:conntrack_found': 0,
        'namespace:conntrack_insert_failed': 0,
        'namespace:conntrack_drop': 0,
        'namespace:conntrack_early_drop': 0,
        'namespace:conntrack_search_restart': 0,
      });
      expect(out.notices).toEqual([]);
    } finally {
      stage.close();
      tree.remove();
    }
  });

  it('without the module: absent, not 0, said once, and said again when it appears', () => {
    const tree = makeProcTree([{ ...pod, net: { sockstat } }]);
    const stage = new CollectStage(tree.dir, [activeCollector(conntrack)]);
    try {
      const first = stage.run(tree.targets);
      expect(first.errors).toEqual([]);
      expect(first.results).toEqual([]);
      expect(first.notices).toEqual([{ collector: 'conntrack', message: expect.stringMatching(/stat\/nf_conntrack does not exist \(the nf_conntrack module is not loaded\)/) }]);
      expect(stage.run(tree.targets).notices).toEqual([]); // once
      fs.mkdirSync(path.join(tree.dir, '300/net/stat'), { recursive: true });
      fs.writeFileSync(path.join(tree.dir, '300/net/stat/nf_conntrack'), NO_RESTART);
      const loaded = stage.run(tree.targets);
      expect(loaded.notices).toEqual([{ collector: 'conntrack', message: expect.stringMatching(/appeared/) }]);
      expect(loaded.results[0].samples.map((s) => s.def.key)).toEqual(['conntrack_entries', 'conntrack_found', 'conntrack_insert_failed', 'conntrack_drop', 'conntrack_early_drop']);
    } finally {
      stage.close();
      tree.remove();
    }
  });

  it('a damaged file is an EMALFORMED error naming it, and no numbers', () => {
    const tree = makeProcTree([{ ...pod, net: { sockstat, 'stat/nf_conntrack': 'entries found\n0000000x 00000000\n' } }]);
    const stage = new CollectStage(tree.dir, [activeCollector(conntrack)]);
    try {
      const out = stage.run(tree.targets);
      expect(out.results).toEqual([]);
      expect(out.errors).toEqual([expect.objectContaining({ code: 'EMALFORMED', message: expect.stringContaining('300/net/stat/nf_conntrack') })]);
    } finally {
      stage.close();
      tree.remove();
    }
  });
});
