// Points → Open-Falcon items: names, types, tags, endpoints, sanitising and local validation.
// Every item the encoder emits must be one the transfer keeps, with the tags it was meant to carry:
// that is checked against the receiver's implementation of the transfer's rules.
import { ALL_METRICS } from '../helpers/metrics';
import fc from 'fast-check';
import { Target } from '../../src/core/model';
import { agentMetricDef, metricDef } from '../helpers/metrics';
import {
  COUNTER_MAX_CHARS,
  FalconItem,
  ItemContext,
  checkEndpointTemplate,
  checkPrefix,
  encodePoints,
  sanitize,
  transferRejects,
} from '../../src/deliver/falcon/items';
import { Point } from '../../src/deliver/points';
import { namespaceLabels } from '../../src/discover/labels';
import { decodeMetricValues, dictedTagstring, recvMetricValue } from '../helpers/falcon-receiver';

const ctx: ItemContext = { prefix: 'sockpulse', endpoint: '{host}', hostname: 'node-1', step: 60, timestamp: 1_700_000_040, copyLabels: [], catalog: ALL_METRICS };
const target = (labels: Record<string, string>, scope: Target['scope'] = 'container'): Target => ({
  netns: 4026532300, pid: 300, pidStart: 1, scope, containers: [], labels,
});
const ns = (key: string, value: number, t: Target): Point => ({ def: metricDef(key)!, value, target: t, labels: {} });
const one = (p: Point, c: Partial<ItemContext> = {}): FalconItem => {
  const { items, invalid } = encodePoints([p], { ...ctx, ...c });
  expect(invalid).toEqual({});
  return items[0];
};
const dropped = (p: Point, c: Partial<ItemContext> = {}) => encodePoints([p], { ...ctx, ...c });
/** What the transfer keeps of an item: through JSON, Go's decoding and RecvMetricValues. */
const throughTransfer = (i: FalconItem) => recvMetricValue(decodeMetricValues(JSON.stringify([i]))![0], 1_700_000_100);

describe('Open-Falcon items', () => {
  it('encodes a container\'s gauge with its tags, the host name as endpoint, the batch\'s timestamp and step', () => {
    const web = target({ container: 'web', container_id: '4e3eb141f15f', image: 'nginx:1.25', pod: 'web-0', namespace: 'prod' });
    expect(one(ns('established', 11, web))).toEqual({
      endpoint: 'node-1',
      metric: 'sockpulse.estab',
      timestamp: 1_700_000_040,
      step: 60,
      value: 11,
      counterType: 'GAUGE',
      tags: 'scope=container,container=web,container_id=4e3eb141f15f,image=nginx:1.25,pod=web-0,namespace=prod',
    });
  });

  it.each([
    ['established', 'sockpulse.estab', 'GAUGE'],
    ['inuse', 'sockpulse.inuse', 'GAUGE'],
    ['timewait', 'sockpulse.timewait', 'GAUGE'],
    ['total', 'sockpulse.total', 'GAUGE'],
    ['udp', 'sockpulse.udp.inuse', 'GAUGE'],
    ['tcp_active_opens', 'sockpulse.tcp.active_opens', 'COUNTER'],
    ['tcp_retrans_segs', 'sockpulse.tcp.retrans_segs', 'COUNTER'],
    ['udp_rcvbuf_errors', 'sockpulse.udp.rcvbuf_errors', 'COUNTER'],
  ])('names %s %s (%s)', (key, metric, type) => {
    expect(one(ns(key, 1, target({ container: 'c' })))).toMatchObject({ metric, counterType: type });
  });

  it('follows the prefix, or uses the bare name when the prefix is empty', () => {
    const p = ns('established', 1, target({}));
    expect(one(p, { prefix: 'ss' }).metric).toBe('ss.estab');
    expect(one(p, { prefix: 'k8s.node' }).metric).toBe('k8s.node.estab');
    expect(one(p, { prefix: '' }).metric).toBe('estab');
  });

  it('gives the host target\'s points only scope=host, whatever labels it has', () => {
    const host = target({ container: 'host-net-app' }, 'host');
    expect(one(ns('established', 0, host), { endpoint: '{container}' })).toMatchObject({ tags: 'scope=host', endpoint: 'node-1' });
  });

  it('gives host-wide points no tags and agent points only their own labels', () => {
    const orphan: Point = { def: metricDef('orphan')!, value: 3, labels: {} };
    expect(one(orphan, { endpoint: '{container}' })).toMatchObject({ metric: 'sockpulse.host.orphaned', tags: '', endpoint: 'node-1', counterType: 'GAUGE' });
    const drop: Point = { def: agentMetricDef('sink.dropped'), value: 7, labels: { sink: 'falcon', reason: 'buffer_full' } };
    expect(one(drop)).toMatchObject({ metric: 'sockpulse.agent.sink.dropped', tags: 'sink=falcon,reason=buffer_full', counterType: 'COUNTER', value: 7 });
    const ms: Point = { def: agentMetricDef('cycle.collect_ms'), value: 1.25, labels: {} };
    expect(one(ms)).toMatchObject({ metric: 'sockpulse.agent.cycle.collect_ms', tags: '', counterType: 'GAUGE', value: 1.25 });
  });

  it('encodes a target whose copied label names are Object.prototype members (absent, or present)', () => {
    const labels = namespaceLabels([{ id: 'x'.repeat(64), name: 'web', labels: JSON.parse('{"__proto__": "p"}') }], ['constructor', '__proto__']);
    const item = one(ns('established', 1, target(labels)), { copyLabels: ['constructor', '__proto__'] });
    expect(item.tags).toBe('scope=container,container=web,container_id=xxxxxxxxxxxx,__proto__=p');
  });

  it('orders tags: scope, discovery labels, copied labels in configured order, then the rest by name', () => {
    const t = target({ zeta: 'z', 'team.b': 'b', namespace: 'prod', 'team.a': 'a', alpha: 'x', container: 'c' });
    expect(one(ns('udp', 1, t), { copyLabels: ['team.b', 'team.a'] }).tags).toBe(
      'scope=container,container=c,namespace=prod,team.b=b,team.a=a,alpha=x,zeta=z',
    );
  });

  it.each([
    ['{host}', { container: 'web', pod: 'web-0', namespace: 'prod' }, 'node-1'],
    ['{container}', { container: 'web' }, 'web'],
    ['{namespace}/{pod}', { pod: 'web-0', namespace: 'prod' }, 'prod/web-0'],
    ['{host}-{container}', { container: 'web' }, 'node-1-web'],
    ['{pod}', { container: 'plain' }, 'node-1'], // empty placeholder: the host name
    ['{namespace}.{pod}', { pod: 'p' }, 'node-1.p'],
    ['{container}', { container: 'evil name,x=1' }, 'evil_name_x_1'],
  ])('fills the endpoint template %s', (endpoint, labels, expected) => {
    expect(one(ns('established', 1, target(labels)), { endpoint }).endpoint).toBe(expected);
  });

  it('rejects unknown placeholders, an empty template and a prefix that would break the name', () => {
    expect(() => checkEndpointTemplate('{pods}')).toThrow(/sinks\.falcon\.endpoint: unknown placeholder \{pods\}/);
    expect(() => checkEndpointTemplate(' ')).toThrow(/sinks\.falcon\.endpoint/);
    expect(() => checkEndpointTemplate('{namespace}/{pod}')).not.toThrow();
    for (const bad of ['a/b', 'a b', 'a,b', '.a', 'a.', 'a..b', 'ünï']) expect(() => checkPrefix(bad)).toThrow(/sinks\.falcon\.prefix/);
    for (const ok of ['', 'sockpulse', 'k8s.node-1', 'a_b']) expect(() => checkPrefix(ok)).not.toThrow();
  });
});

describe('sanitising tag values (and keys, and endpoint parts)', () => {
  const long = 'x'.repeat(10_000);
  it.each([
    ['web-1', 'web-1'],
    ['a,b', 'a_b'],
    ['k=v', 'k_v'],
    ['a b', 'a_b'],
    ['a\tb\nc\rd\u0000e\u007f', 'a_b_c_d_e_'],
    ['nginx:1.25@sha256:ab', 'nginx:1.25@sha256:ab'],
    ['app.kubernetes.io/name', 'app.kubernetes.io/name'],
    ['ünïcødé', '_n_c_d_'],
    ['😀 café', '__caf_'], // one _ per code point, not per UTF-16 unit
    ['"quoted";\'x\'|%&?#~+', '_quoted___x________'],
  ])('%j → %j', (raw, clean) => {
    expect(sanitize(raw)).toBe(clean);
  });

  it('cuts long values to 63 characters ending in a hash of the original, so they stay distinct', () => {
    const a = sanitize(long);
    const b = sanitize(`${long}y`);
    expect(a).toMatch(/^x{54}-[0-9a-f]{8}$/);
    expect(b).toHaveLength(63);
    expect(a).not.toBe(b);
    expect(sanitize(long)).toBe(a);
    expect(sanitize('y'.repeat(63))).toBe('y'.repeat(63));
    expect(sanitize('y'.repeat(64))).toMatch(/^y{54}-[0-9a-f]{8}$/);
  });

  it.each([
    ['a comma and an =', 'web,scope=host'],
    ['spaces', 'my app'],
    ['a newline', 'web\nscope=host'],
    ['unicode', 'поиск-😀'],
    ['10 000 characters', 'z'.repeat(10_000)],
    ['only separators', ',,,===   '],
  ])('cannot inject or break tags with %s in a container name', (_what, name) => {
    const item = one(ns('established', 5, target({ container: name, pod: 'p', namespace: 'n' })));
    const kept = throughTransfer(item);
    if (typeof kept === 'string') throw new Error(`transfer dropped it: ${kept}`);
    expect(Object.keys(kept.tags)).toEqual(['scope', 'container', 'pod', 'namespace']);
    expect(kept.tags).toEqual({ scope: 'container', container: sanitize(name), pod: 'p', namespace: 'n' });
    expect(item.metric.length + 1 + item.tags.length).toBeLessThanOrEqual(COUNTER_MAX_CHARS);
  });

  it('sanitises hostile label keys too (copied Docker labels), keeping only the first of keys that collide', () => {
    const t = target({ container: 'c', 'team name': 'a', team_name: 'b', 'x=y,z': 'v' });
    expect(one(ns('udp', 1, t), { copyLabels: ['team name', 'team_name', 'x=y,z'] }).tags).toBe('scope=container,container=c,team_name=a,x_y_z=v');
  });

  it('property: any labels give an item the transfer keeps, with exactly the sanitised tags', () => {
    const text = fc.string({ unit: 'binary', maxLength: 200 });
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('container', 'pod', 'namespace', 'image', 'netns_name'), text), (labels) => {
        const item = one(ns('timewait', 2, target(labels)));
        const kept = throughTransfer(item);
        if (typeof kept === 'string') throw new Error(`transfer dropped it: ${kept}`);
        const tags = dictedTagstring(item.tags);
        expect(kept.tags).toEqual(tags);
        expect(tags.scope).toBe('container');
        for (const k of ['container', 'pod', 'namespace']) if (labels[k]) expect(tags[k]).toBe(sanitize(labels[k]));
        for (const [k, v] of Object.entries(tags)) if (k !== 'scope') expect(v).toBe(sanitize(labels[k]));
        expect(item.metric.length + 1 + item.tags.length).toBeLessThanOrEqual(COUNTER_MAX_CHARS);
      }),
      { numRuns: 150 },
    );
  });
});

describe('fitting metric/tags into 255 characters', () => {
  const v = (c: string) => c.repeat(63);
  it('drops the lowest-priority tags first and keeps scope, container, pod and namespace', () => {
    const t = target({
      container: v('c'), container_id: '4e3eb141f15f', image: v('i'), pod: v('p'), namespace: 'prod', pod_uid: v('u'), kube_container: 'app',
    });
    const item = one(ns('established', 1, t));
    expect(item.tags).toBe(`scope=container,container=${v('c')},container_id=4e3eb141f15f,pod=${v('p')},namespace=prod`);
    expect(item.metric.length + 1 + item.tags.length).toBeLessThanOrEqual(COUNTER_MAX_CHARS);
  });

  it('gives a namespace the same tags on every metric, fitted to its longest metric name', () => {
    const t = target({ container: v('c'), image: v('i'), pod: v('p'), namespace: 'prod' });
    const out = encodePoints(['udp', 'established', 'udp_out_datagrams', 'tcp_active_opens'].map((k) => ns(k, 1, t)), ctx);
    expect(out.invalid).toEqual({});
    expect(new Set(out.items.map((i) => i.tags))).toEqual(new Set([`scope=container,container=${v('c')},pod=${v('p')},namespace=prod`]));
  });

  it('reports the labels it left out, once per namespace, with the number of items sent without them', () => {
    const t = target({ container: v('c'), container_id: '4e3eb141f15f', image: v('i'), pod: v('p'), namespace: 'prod', pod_uid: v('u'), kube_container: 'app' });
    const whole = target({ container: 'web', pod: 'p', namespace: 'prod' });
    const keys = ['udp', 'established', 'udp_out_datagrams', 'tcp_active_opens'];
    const out = encodePoints([...keys.map((k) => ns(k, 1, t)), ...keys.map((k) => ns(k, 1, whole))], ctx);
    expect(out.items).toHaveLength(8);
    expect(out.trimmed).toEqual([
      {
        endpoint: 'node-1',
        tags: `scope=container,container=${v('c')},container_id=4e3eb141f15f,pod=${v('p')},namespace=prod`,
        dropped: [`image=${v('i')}`, `pod_uid=${v('u')}`, 'kube_container=app'],
        items: 4,
      },
    ]);
  });

  it('drops all of a namespace\'s items (counted as too_long) when even its kept tags do not fit', () => {
    const t = target({ container: v('c'), pod: v('p'), namespace: v('n'), image: 'x' });
    expect(encodePoints([ns('udp', 1, t), ns('tcp_active_opens', 1, t)], ctx)).toEqual({ items: [], invalid: { too_long: 2 }, trimmed: [] });
  });

  it('drops the item (counted as too_long) when even the kept tags do not fit', () => {
    const t = target({ container: v('c'), pod: v('p'), namespace: v('n'), image: 'x' });
    expect(dropped(ns('tcp_active_opens', 1, t))).toEqual({ items: [], invalid: { too_long: 1 }, trimmed: [] });
    expect(dropped(ns('established', 1, target({})), { prefix: `a${'.b'.repeat(130)}` })).toEqual({ items: [], invalid: { too_long: 1 }, trimmed: [] });
  });

  it('drops an endpoint longer than 255 characters', () => {
    const t = target({ container: 'c' });
    expect(dropped(ns('established', 1, t), { endpoint: `${'e'.repeat(252)}-{container}-{container}` }).invalid).toEqual({ endpoint_too_long: 1 });
  });
});

describe('local validation: what the transfer would drop is never sent', () => {
  const p = ns('established', 1, target({ container: 'c' }));
  it.each([
    ['a NaN value', { ...p, value: NaN }, {}, 'value_not_finite'],
    ['an infinite value', { ...p, value: Infinity }, {}, 'value_not_finite'],
    ['a zero step', p, { step: 0 }, 'bad_step'],
    ['a fractional step (a type error: the whole batch would get 400)', p, { step: 1.5 }, 'bad_step'],
    ['a fractional timestamp (same)', p, { timestamp: 1_700_000_040.5 }, 'bad_timestamp'],
    ['an empty endpoint', p, { hostname: '', endpoint: '{host}' }, 'empty_metric_or_endpoint'],
  ] as [string, Point, Partial<ItemContext>, string][])('drops %s', (_what, point, c, reason) => {
    expect(dropped(point, c)).toEqual({ items: [], invalid: { [reason]: 1 }, trimmed: [] });
  });

  it('keeps the good items of a batch when some are bad', () => {
    const out = encodePoints([p, { ...p, value: NaN }, ns('udp', 3, target({ container: 'c' }))], ctx);
    expect(out.items.map((i) => [i.metric, i.value])).toEqual([['sockpulse.estab', 1], ['sockpulse.udp.inuse', 3]]);
    expect(out.invalid).toEqual({ value_not_finite: 1 });
  });

  it.each([
    ['kernel.hostname', { metric: 'kernel.hostname' }],
    ['an empty metric', { metric: '' }],
    ['DERIVE is never produced, other types are dropped', { counterType: 'gauge' as 'GAUGE' }],
    ['510 bytes of metric+tags', { metric: 'm', tags: `k=${'é'.repeat(254)}` }],
  ])('agrees with the transfer on %s', (_what, over) => {
    const item: FalconItem = { endpoint: 'e', metric: 'm', timestamp: 1_700_000_040, step: 60, value: 1, counterType: 'GAUGE', tags: '', ...over };
    expect(transferRejects(item)).toBeDefined();
    expect(typeof throughTransfer(item)).toBe('string');
  });

  it('agrees with the transfer on an item exactly at 510 bytes', () => {
    const item: FalconItem = { endpoint: 'e', metric: 'm', timestamp: 1, step: 60, value: 1, counterType: 'GAUGE', tags: `k=${'é'.repeat(253)}x` };
    expect(Buffer.byteLength(item.metric + item.tags)).toBe(510);
    expect(transferRejects(item)).toBeUndefined();
    expect(typeof throughTransfer(item)).toBe('object');
  });
});

describe('catalog names for dotted backends', () => {
  it('has no name that is both a leaf and a parent (Graphite behind StatsD cannot store that)', () => {
    const names = ALL_METRICS.map((d) => d.falcon);
    expect(names.filter((n) => names.some((m) => m.startsWith(`${n}.`)))).toEqual([]);
  });
});
