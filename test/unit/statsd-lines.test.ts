// StatsD line encoding: exact lines per tag style, and the escaping that keeps any label value
// (container, image, netns names are not ours to choose) from breaking a line or adding a metric.
import fc from 'fast-check';
import { Target } from '../../src/core/model';
import { agentMetricDef, metricDef } from '../helpers/metrics';
import { Point } from '../../src/deliver/points';
import {
  Label,
  TagStyle,
  counterLine,
  encodeLine,
  escapePrefix,
  escapeSegment,
  escapeTag,
  formatValue,
  gaugeLines,
  metricName,
  Packer,
  pointLabels,
} from '../../src/deliver/statsd/lines';

const LONG = 'x'.repeat(9_990) + ',=|#:\n @"é';

describe('escaping', () => {
  it.each<[string, string, string]>([
    // raw, as a tag key/value, as a dotted-name segment
    ['web-1_a.b', 'web-1_a.b', 'web-1_a_b'],
    ['aaaaaaaaaaaa,bbbbbbbbbbbb', 'aaaaaaaaaaaa_bbbbbbbbbbbb', 'aaaaaaaaaaaa_bbbbbbbbbbbb'],
    ['registry:5000/org/app:1.25@sha256:ab', 'registry_5000_org_app_1.25_sha256_ab', 'registry_5000_org_app_1_25_sha256_ab'],
    ['k=v', 'k_v', 'k_v'],
    ['a|b#c@d', 'a_b_c_d', 'a_b_c_d'],
    ['x:1|c\nevil:999|g', 'x_1_c_evil_999_g', 'x_1_c_evil_999_g'],
    ['tab\there cr\rlf\n', 'tab_here_cr_lf_', 'tab_here_cr_lf_'],
    ['"quoted" \'single\' `back`', '_quoted___single___back_', '_quoted___single___back_'],
    ['nul\u0000del\u007fesc\u001b', 'nul_del_esc_', 'nul_del_esc_'],
    ['ünïcødé', '_n_c_d_', '_n_c_d_'],
    ['emoji 🐳!', 'emoji___', 'emoji___'], // one astral code point → one "_"
    ['lone \ud800 surrogate', 'lone___surrogate', 'lone___surrogate'],
    ['semi;colon', 'semi_colon', 'semi_colon'],
    ['back\\slash', 'back_slash', 'back_slash'],
  ])('%j → tag %j, segment %j', (raw, tag, segment) => {
    expect(escapeTag(raw)).toBe(tag);
    expect(escapeSegment(raw)).toBe(segment);
  });

  it('keeps a 10 000-character value whole, replacing only what is unsafe', () => {
    const out = escapeTag(LONG);
    expect(out).toHaveLength(10_000);
    expect(out.endsWith(`x${'_'.repeat(10)}`)).toBe(true);
  });

  it.each([
    ['sockpulse', 'sockpulse'],
    ['my.app.', 'my.app'],
    ['.a..b.', 'a.b'],
    ['team a/ß', 'team_a__'],
    ['', ''],
  ])('prefix %j → %j', (raw, out) => {
    expect(escapePrefix(raw)).toBe(out);
    expect(metricName(out, 'estab')).toBe(out ? `${out}.estab` : 'estab');
  });
});

describe('line formats', () => {
  const labels: Label[] = [
    ['scope', 'container'],
    ['container', 'web,db'],
    ['image', 'nginx:1.25'],
  ];
  it.each<[TagStyle, string]>([
    ['dogstatsd', 'sockpulse.estab:11|g|#scope:container,container:web_db,image:nginx_1.25'],
    ['telegraf', 'sockpulse.estab,scope=container,container=web_db,image=nginx_1.25:11|g'],
    ['none', 'sockpulse.estab.scope.container.container.web_db.image.nginx_1_25:11|g'],
  ])('%s', (style, line) => {
    expect(encodeLine('sockpulse.estab', labels, '11', 'g', style)).toBe(line);
  });

  it.each<[TagStyle, string]>([
    ['dogstatsd', 'sockpulse.host.orphaned:0|g'],
    ['telegraf', 'sockpulse.host.orphaned:0|g'],
    ['none', 'sockpulse.host.orphaned:0|g'],
  ])('%s without labels', (style, line) => {
    expect(encodeLine('sockpulse.host.orphaned', [], '0', 'g', style)).toBe(line);
  });

  it('sends a negative gauge as 0 then the value (a leading "-" alone is a delta to StatsD)', () => {
    expect(gaugeLines('p.g', [], -5, 'dogstatsd')).toEqual(['p.g:0|g', 'p.g:-5|g']);
    expect(gaugeLines('p.g', [], 5, 'dogstatsd')).toEqual(['p.g:5|g']);
    expect(gaugeLines('p.g', [], 0, 'none')).toEqual(['p.g:0|g']);
    expect(gaugeLines('p.g', [], NaN, 'none')).toBeUndefined();
    expect(gaugeLines('p.g', [], Infinity, 'none')).toBeUndefined();
  });

  it('never sends a negative or non-finite counter increment', () => {
    expect(counterLine('p.c', [['scope', 'host']], 3, 'telegraf')).toBe('p.c,scope=host:3|c');
    expect(counterLine('p.c', [], 0, 'dogstatsd')).toBe('p.c:0|c');
    expect(counterLine('p.c', [], -1, 'dogstatsd')).toBeUndefined();
    expect(counterLine('p.c', [], NaN, 'dogstatsd')).toBeUndefined();
  });

  it.each<[number, string | undefined]>([
    [11, '11'],
    [12.34, '12.34'],
    [-3, '-3'],
    [1e21, '1000000000000000000000'],
    [1.5e-7, '0.00000015'],
    [1_700_000_000, '1700000000'],
    [NaN, undefined],
    [-Infinity, undefined],
  ])('value %p → %p (no exponent)', (v, s) => {
    expect(formatValue(v)).toBe(s);
  });
});

describe('no label value can break a line or inject a metric', () => {
  const N = '[A-Za-z0-9_.-]+';
  const T = '[A-Za-z0-9_.-]+';
  const S = '[A-Za-z0-9_-]+';
  const shape: Record<TagStyle, (n: number) => RegExp> = {
    dogstatsd: (n) => new RegExp(`^${N}:7\\|g${n ? `\\|#${T}:${T}(,${T}:${T}){${n - 1}}` : ''}$`),
    telegraf: (n) => new RegExp(`^${N}(,${T}=${T}){${n}}:7\\|g$`),
    none: (n) => new RegExp(`^${N}(\\.${S}\\.${S}){${n}}:7\\|g$`),
  };
  const hostile = fc.oneof(
    fc.string({ unit: 'binary', minLength: 1 }),
    fc.string({ unit: fc.constantFrom(',', '=', '|', '#', ':', '@', ' ', '\n', '\r', '"', '.', ';', '\\', 'é', '🐳', 'a'), minLength: 1 }),
  );
  it.each<TagStyle>(['dogstatsd', 'telegraf', 'none'])('%s: one line, one value, as many tags as labels', (style) => {
    fc.assert(
      fc.property(fc.array(fc.tuple(hostile, hostile), { maxLength: 5 }), fc.string({ unit: 'binary' }), (pairs, prefix) => {
        const name = metricName(escapePrefix(prefix), 'estab');
        const line = encodeLine(name, pairs, '7', 'g', style);
        expect(line).toMatch(shape[style](pairs.length));
        expect(line).toMatch(/^[\x21-\x7e]+$/); // printable ASCII, no whitespace
      }),
      { numRuns: 500 },
    );
  });
});

describe('which labels a point carries', () => {
  const target = (scope: Target['scope'], labels: Record<string, string>): Target => ({ netns: 4026532300, pid: 300, pidStart: 42, scope, containers: [], labels });
  const ns = (t: Target): Point => ({ def: metricDef('established')!, value: 1, target: t, labels: {} });

  it('the host target: only scope=host, even with host-network containers in it', () => {
    expect(pointLabels(ns(target('host', { container: 'node-exporter' })))).toEqual([['scope', 'host']]);
  });

  it('a namespace: scope, then the known keys in their fixed order, then copied labels by name; empty values left out', () => {
    const t = target('container', { 'com.example.team': 'net', pod: 'p', container: 'web', image: '', container_id: 'abc', 'a.label': 'x' });
    expect(pointLabels(ns(t))).toEqual([
      ['scope', 'container'],
      ['container', 'web'],
      ['container_id', 'abc'],
      ['pod', 'p'],
      ['a.label', 'x'],
      ['com.example.team', 'net'],
    ]);
  });

  it('host-wide and agent points: only their own labels', () => {
    expect(pointLabels({ def: metricDef('orphan')!, value: 0, labels: {} })).toEqual([]);
    expect(pointLabels({ def: agentMetricDef('sink.dropped'), value: 1, labels: { reason: 'send_error', sink: 'statsd' } })).toEqual([
      ['sink', 'statsd'],
      ['reason', 'send_error'],
    ]);
  });
});

describe('Packer', () => {
  const len = (s: string): number => s.length;
  const pack = (items: string[], bytes: (s: string) => number, max: number): string[][] => {
    const p = new Packer(bytes, max);
    const out: string[][] = [];
    const take = (g: { items: string[]; bytes: number } | undefined): void => {
      if (!g) return;
      expect(g.bytes).toBe(g.items.join('\n').length);
      out.push(g.items);
    };
    for (const it of items) take(p.add(it));
    take(p.end());
    return out;
  };
  it.each<[string[], number, string[][]]>([
    [[], 10, []],
    [['aaaa', 'bbbb', 'cc'], 10, [['aaaa', 'bbbb'], ['cc']]],
    [['aaaa', 'bbbbb', 'c'], 10, [['aaaa', 'bbbbb'], ['c']]], // 4 + 1 + 5 = 10 fits exactly
    [['a', 'x'.repeat(30), 'b'], 10, [['a'], ['x'.repeat(30)], ['b']]], // too long: alone
  ])('%j in %d bytes', (items, max, out) => {
    expect(pack(items, len, max)).toEqual(out);
  });
});
