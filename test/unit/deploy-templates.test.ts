// The shipped Open-Falcon templates and Grafana dashboard (deploy/) name only metrics sockpulse
// emits, with the field types the falcon-plus API binds and the grammar judge parses. A renamed
// metric in src/core/metrics.ts makes this suite fail until deploy/ follows.
import * as fs from 'fs';
import * as path from 'path';
import { ALL_METRICS, MetricDef } from '../helpers/metrics';
import { TARGET_LABEL_KEYS } from '../../src/deliver/points';

const ROOT = path.resolve(__dirname, '../..');
const PREFIX = 'sockpulse'; // sinks.falcon.prefix default
const readJson = (rel: string): any => JSON.parse(fs.readFileSync(path.join(ROOT, rel), 'utf8'));

const FALCON = new Map<string, MetricDef>(ALL_METRICS.map((d) => [`${PREFIX}.${d.falcon}`, d]));
const PROM = new Map<string, MetricDef>(ALL_METRICS.map((d) => [d.prom, d]));
/** Point labels of agent metrics (src/deliver/points.ts). */
const POINT_LABELS = ['sink', 'reason', 'stage'];
/** Falcon tag characters after sockpulse's sanitising, plus upper-case placeholders. */
const TAG_PART = /^[A-Za-z0-9_.:/@-]+$/;

/** `k=v,k2=v2` → pairs; throws on anything else. */
function parseTags(tags: string): [string, string][] {
  if (tags === '') return [];
  return tags.split(',').map((kv) => {
    const m = /^([^=,]+)=([^=,]+)$/.exec(kv);
    if (!m) throw new Error(`tag "${kv}" is not k=v`);
    return [m[1], m[2]];
  });
}

/** Tag keys a series of this metric can carry in Falcon. */
function allowedKeys(def: MetricDef): string[] {
  if (def.scope === 'namespace') return [...TARGET_LABEL_KEYS];
  if (def.scope === 'host') return [];
  return POINT_LABELS;
}

function expectTagsFit(metric: string, tags: string): void {
  const def = FALCON.get(metric)!;
  for (const [k, v] of parseTags(tags)) {
    expect(allowedKeys(def)).toContain(k);
    expect(v).toMatch(TAG_PART);
  }
}

describe('deploy/open-falcon/strategies.json', () => {
  const doc = readJson('deploy/open-falcon/strategies.json');
  const strategies: any[] = doc.strategies;

  test('template is what POST /api/v1/template binds', () => {
    expect(typeof doc.template.name).toBe('string');
    expect(doc.template.name).not.toBe('');
    expect(Number.isInteger(doc.template.parent_id)).toBe(true);
    expect(Number.isInteger(doc.template.action_id)).toBe(true);
  });

  test('has strategies', () => {
    expect(strategies.length).toBeGreaterThan(0);
  });

  test.each(strategies.map((s) => [s.metric, s.func, s] as const))('%s %s: fields as POST /api/v1/strategy binds them', (_m, _f, s) => {
    expect(Object.keys(s).sort()).toEqual(
      ['func', 'max_step', 'metric', 'note', 'op', 'priority', 'right_value', 'run_begin', 'run_end', 'tags', 'tpl_id'],
    );
    expect(FALCON.has(s.metric)).toBe(true);
    expect(typeof s.tags).toBe('string');
    expectTagsFit(s.metric, s.tags);
    // judge's ParseFuncFromString: name(#N), lookup(#N,M); match() is for string values only.
    expect(s.func).toMatch(/^((max|min|all|sum|avg|diff|pdiff)\(#[1-9]\d*\)|lookup\(#[1-9]\d*,[1-9]\d*\))$/);
    // The API's op check is ^(>|=|<|!)(=)?$; judge's checkIsTriggered knows only these.
    expect(['==', '!=', '<', '<=', '>', '>=']).toContain(s.op);
    expect(typeof s.right_value).toBe('string'); // a JSON number fails the API's string binding
    expect(s.right_value).toMatch(/^-?\d+(\.\d+)?$/);
    expect(Number.isInteger(s.max_step) && s.max_step > 0).toBe(true); // binding:"required": 0 is refused
    expect(Number.isInteger(s.priority) && s.priority >= 0).toBe(true);
    expect(Number.isInteger(s.tpl_id)).toBe(true); // filled in at import (README)
    expect(typeof s.note).toBe('string');
    for (const t of [s.run_begin, s.run_end]) expect(t === '' || /^\d{2}:\d{2}$/.test(t)).toBe(true);
  });

  test('a strategy on a counter compares increments (diff/pdiff), never a level threshold', () => {
    for (const s of strategies) {
      if (FALCON.get(s.metric)!.kind === 'counter') expect(s.func).toMatch(/^p?diff\(/);
    }
  });

  test('covers TIME_WAIT, established spike and drop, orphans, and agent not reporting', () => {
    const has = (metric: string, pred: (s: any) => boolean): boolean => strategies.some((s) => s.metric === metric && pred(s));
    expect(has(`${PREFIX}.timewait`, (s) => s.op.startsWith('>'))).toBe(true);
    expect(has(`${PREFIX}.estab`, (s) => /diff/.test(s.func) && s.op.startsWith('>'))).toBe(true);
    expect(has(`${PREFIX}.estab`, (s) => /diff/.test(s.func) && s.op.startsWith('<'))).toBe(true);
    expect(has(`${PREFIX}.host.orphaned`, (s) => s.op.startsWith('>'))).toBe(true);
    const nodata = readJson('deploy/open-falcon/nodata.json') as any[];
    for (const n of nodata) {
      expect(has(n.metric, (s) => s.op === '==' && Number(s.right_value) === n.mock && s.tags === n.tags)).toBe(true);
    }
  });
});

describe('deploy/open-falcon/nodata.json', () => {
  const nodata: any[] = readJson('deploy/open-falcon/nodata.json');

  test.each(nodata.map((n) => [n.name, n] as const))('%s: fields as POST /api/v1/nodata/ binds them', (_n, n) => {
    expect(Object.keys(n).sort()).toEqual(['dstype', 'metric', 'mock', 'name', 'obj', 'obj_type', 'step', 'tags']);
    for (const k of ['name', 'obj', 'metric', 'tags']) expect(typeof n[k]).toBe('string');
    expect(['group', 'host', 'other']).toContain(n.obj_type);
    expect(FALCON.has(n.metric)).toBe(true);
    // nodata accepts only GAUGE and mocks the value as that type: the metric must be a gauge.
    expect(n.dstype).toBe('GAUGE');
    expect(FALCON.get(n.metric)!.kind).toBe('gauge');
    expectTagsFit(n.metric, n.tags);
    expect(Number.isInteger(n.step) && n.step > 0).toBe(true);
    expect(typeof n.mock).toBe('number');
  });
});

describe('deploy/open-falcon/screen.json', () => {
  const doc = readJson('deploy/open-falcon/screen.json');

  test('screen has a name and a numeric pid', () => {
    expect(typeof doc.screen.name).toBe('string');
    expect(Number.isInteger(doc.screen.pid)).toBe(true);
  });

  test.each((doc.graphs as any[]).map((g) => [g.title, g] as const))('%s: fields as POST /api/v1/dashboard/graph binds them', (_t, g) => {
    expect(typeof g.title).toBe('string');
    expect(Array.isArray(g.endpoints) && g.endpoints.length > 0).toBe(true);
    expect(Array.isArray(g.counters) && g.counters.length > 0).toBe(true);
    expect(['h', 'k', 'a']).toContain(g.graph_type);
    expect(['', 'sum']).toContain(g.method);
    expect(Number.isInteger(g.timespan) && g.timespan > 0).toBe(true);
    expect(Number.isInteger(g.position)).toBe(true);
    for (const c of g.counters as string[]) {
      const slash = c.indexOf('/');
      const metric = slash < 0 ? c : c.slice(0, slash);
      const tags = slash < 0 ? '' : c.slice(slash + 1);
      expect(FALCON.has(metric)).toBe(true);
      expectTagsFit(metric, tags);
      // A Falcon counter is metric/tags with tags sorted by key: anything else names no series.
      const keys = parseTags(tags).map(([k]) => k);
      expect(keys).toEqual([...keys].sort());
    }
  });
});

describe('deploy/grafana/sockpulse.json', () => {
  const dash = readJson('deploy/grafana/sockpulse.json');
  const panels: any[] = dash.panels.flatMap((p: any) => [p, ...(p.panels ?? [])]);
  const targets: any[] = panels.flatMap((p) => p.targets ?? []);
  const BUILTIN = new Set(['__rate_interval', '__interval', '__range', '__all', '__name']);

  test('has a schemaVersion and a uid', () => {
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(typeof dash.uid).toBe('string');
  });

  test('panel ids are unique', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(Number.isInteger(id)).toBe(true);
  });

  test('every non-row panel has targets, every target an expr', () => {
    for (const p of panels.filter((q) => q.type !== 'row')) expect(p.targets.length).toBeGreaterThan(0);
    for (const t of targets) {
      expect(typeof t.expr).toBe('string');
      expect(t.expr.trim()).not.toBe('');
    }
  });

  test('every PromQL metric is one sockpulse serves', () => {
    const exprs = [...targets.map((t) => t.expr), ...dash.templating.list.map((v: any) => v.definition ?? '')];
    const used = new Set(exprs.flatMap((e: string) => e.match(/\bsockpulse_[a-z0-9_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(0);
    for (const m of used) expect([m, PROM.has(m)]).toEqual([m, true]);
    for (const m of [
      'sockpulse_tcp_established', 'sockpulse_tcp_timewait', 'sockpulse_tcp_inuse', 'sockpulse_sockets_used',
      'sockpulse_udp_inuse', 'sockpulse_host_tcp_orphans', 'sockpulse_agent_targets', 'sockpulse_agent_cycles_total',
    ]) expect(used).toContain(m);
  });

  test('rate() and increase() only over counters, counters only under rate()/increase()', () => {
    for (const t of targets) {
      for (const m of t.expr.matchAll(/\b(rate|irate|increase)\((sockpulse_[a-z0-9_]+)/g)) expect(PROM.get(m[2])!.kind).toBe('counter');
      for (const m of t.expr.matchAll(/\bsockpulse_[a-z0-9_]+_total\b/g)) {
        expect(t.expr.slice(0, m.index)).toMatch(/(rate|increase)\($/);
      }
    }
  });

  test('every $variable used is defined', () => {
    const defined = new Set(dash.templating.list.map((v: any) => v.name));
    const text = JSON.stringify({ panels: dash.panels, templating: dash.templating });
    const used = new Set([...text.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]));
    for (const v of used) if (!BUILTIN.has(v)) expect([v, defined.has(v)]).toEqual([v, true]);
    for (const v of ['datasource', 'container', 'pod', 'namespace']) expect(defined).toContain(v);
  });

  test('label filters name labels sockpulse sets', () => {
    const known = new Set<string>([...TARGET_LABEL_KEYS, 'netns', ...POINT_LABELS, 'instance', 'job']);
    for (const t of targets) {
      for (const m of t.expr.matchAll(/\b(\w+)\s*(=~|!~|!=|=)\s*"/g)) expect(known).toContain(m[1]);
      for (const m of t.expr.matchAll(/\bby \(([^)]*)\)/g)) for (const l of m[1].split(',')) expect(known).toContain(l.trim());
    }
  });
});
