// Property: hostile container names, label values and copied label keys cannot break or inject
// anything in OTLP attributes. Arbitrary targets replace the namespaces of a real fixture batch
// (test/helpers/pipeline.ts); every request is serialised by the exporter's own serializer, for
// both encodings, and decoded by the test receiver with the official OTLP definitions.
import fc from 'fast-check';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { fixturePipeline } from '../helpers/pipeline';
import { OtlpMetric, decodeOtlp } from '../helpers/otlp-receiver';
import { Batch, Target } from '../../src/core/model';
import { ALL_METRICS } from '../helpers/metrics';
import { CounterStarts, batchToOtlp, exporterSerializer, otlpResource, targetAttributes } from '../../src/deliver/otlp/data';
import { TARGET_LABEL_KEYS, targetLabels } from '../../src/deliver/points';

type Protocol = 'http/json' | 'http/protobuf';
type Attrs = Record<string, unknown>;

const T0 = 1_700_000_040;
const RUNS = 100;
const RESOURCE = { 'service.name': 'sockpulse', 'service.version': '9.9.9', 'host.name': 'fixture-host' };
const resource = otlpResource(RESOURCE['host.name'], RESOURCE['service.version']);
const NAMESPACE_METRICS = new Set(ALL_METRICS.filter((d) => d.scope === 'namespace').map((d) => d.otel));
const OWN_KEYS: readonly string[] = TARGET_LABEL_KEYS;

/**
 * sockpulse's label → OTLP attribute, written here from the OpenTelemetry semantic conventions
 * (container.*, k8s.*; a Docker label is `container.label.<key>`), not read from src: a wrong
 * mapping in src/sinks/otlp-data.ts fails these tests. `sockpulse.scope` and
 * `network.namespace` (a named namespace, `ip netns` name) are sockpulse's own.
 */
const SEMCONV: Readonly<Record<string, string>> = {
  scope: 'sockpulse.scope',
  container: 'container.name',
  container_id: 'container.id',
  image: 'container.image.name',
  pod: 'k8s.pod.name',
  namespace: 'k8s.namespace.name',
  pod_uid: 'k8s.pod.uid',
  kube_container: 'k8s.container.name',
  compose_project: 'container.label.com.docker.compose.project',
  compose_service: 'container.label.com.docker.compose.service',
  netns_name: 'network.namespace',
};

const target = (scope: 'container' | 'netns', labels: Record<string, string>, i = 0): Target => ({
  netns: 4026533000 + i, pid: 3000 + i, pidStart: 1, scope, containers: [], labels,
});
const sorted = (o: object): string => JSON.stringify(Object.entries(o).sort());
const distinct = (maps: object[]): number => new Set(maps.map(sorted)).size;

/**
 * The contract: `sockpulse.scope`, then every label under its semantic-convention name, or
 * `container.label.<key>` for any other (copied) key, with the value unchanged (OTLP strings are
 * not escaped); an unnamed plain namespace is `network.namespace` = `netns-<inode>`.
 */
function expectedAttributes(t: Target): Record<string, string> {
  const out: Record<string, string> = { 'sockpulse.scope': t.scope };
  for (const [k, v] of Object.entries(t.labels)) out[Object.hasOwn(SEMCONV, k) ? SEMCONV[k] : `container.label.${k}`] = v;
  if (t.scope === 'netns' && !t.labels.netns_name) out['network.namespace'] = `netns-${t.netns}`;
  return out;
}

/**
 * Strings as each encoding carries them. OTLP/JSON writes a lone UTF-16 surrogate as an escape
 * (`\ud800`), so it comes back unchanged; protobuf strings are UTF-8, which cannot hold one: the
 * exporter's TextEncoder writes U+FFFD for each unpaired half. Everything else is carried as is.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const onWire = (p: Protocol, s: string): string => (p === 'http/json' ? s : s.replace(LONE_SURROGATE, '\ufffd'));
const wireAttributes = (p: Protocol, a: Record<string, string>): Attrs =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [onWire(p, k), onWire(p, v)]));

/** The fixture batch with `targets` as its namespaces besides the host, each read like its first container. */
/**
 * The fixture's host, then `targets` each with the fixture container's samples. Samples with
 * labels of their own (one series per interface) are left out: this is about target attributes;
 * otlp-data.test.ts checks a sample's own labels.
 */
function withTargets(fixture: Batch, targets: Target[]): Batch {
  const [host, container] = fixture.results.map((r) => ({ ...r, samples: r.samples.filter((s) => s.labels === undefined) }));
  return { ...fixture, results: [host, ...targets.map((t) => ({ target: t, samples: container.samples }))] };
}

/** batch → OTLP data → the exporter's bytes → what a receiver decodes. */
function roundTrip(protocol: Protocol, batch: Batch) {
  const starts = new CounterStarts();
  const payload = batchToOtlp(batch, resource, RESOURCE['service.version'], starts);
  const body = exporterSerializer(protocol).serializeRequest(payload.data);
  expect(body).toBeInstanceOf(Uint8Array);
  const decoded = decodeOtlp(Buffer.from(body!), protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
  return { payload, starts, decoded };
}

const counterPoints = (payload: ReturnType<typeof batchToOtlp>): number =>
  payload.data.scopeMetrics[0].metrics.filter((m) => m.dataPointType === DataPointType.SUM).reduce((n, m) => n + m.dataPoints.length, 0);
const hostAndAgentMetrics = (ms: OtlpMetric[]): OtlpMetric[] => ms.filter((m) => !NAMESPACE_METRICS.has(m.name));

/** One unit of a hostile string: other sinks' separators, quotes, escapes, controls, any code point (astral too), lone surrogate halves. */
const hostileUnit = fc.oneof(
  fc.constantFrom(',', '=', '|', '#', ':', ' ', '\n', '\r', '\t', '"', "'", '\\', '{', '}', '.', '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u2028', '\ufeff', 'é', '容', '🐳'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
);
const LONG = 10_000;
const hostile = fc.oneof(
  { weight: 9, arbitrary: fc.string({ unit: hostileUnit, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: hostileUnit, minLength: 1, maxLength: 4 }).map((s) => s.repeat(LONG).slice(0, LONG)) },
);
/**
 * A docker.copy_labels key: anything but sockpulse's own label names (the configuration rejects
 * those) and the compose labels discovery already maps (it fills compose_project from that very
 * Docker label, so both always hold the same value and are one attribute).
 */
const copiedKey = fc
  .oneof(hostile, fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'))
  .filter((k) => !OWN_KEYS.includes(k) && !Object.values(SEMCONV).includes(`container.label.${k}`));
const labelsArb = fc.dictionary(fc.oneof(fc.constantFrom(...OWN_KEYS.filter((k) => k !== 'scope')), copiedKey), hostile, { maxKeys: 6 });
/** Up to five namespaces whose labels as every sink emits them (targetLabels) differ pairwise. */
const targetsArb = fc
  .array(fc.tuple(fc.constantFrom('container' as const, 'netns' as const), labelsArb), { maxLength: 5 })
  .map((xs) => xs.map(([scope, labels], i) => target(scope, labels, i)))
  .filter((ts) => distinct(ts.map(targetLabels)) === ts.length);

/** Every kind of hostile input at once: checked first in every run, whatever the seed. */
const ALL_AT_ONCE: Target[] = [
  target('container', { container: 'web,scope=host|x#y:z', image: 'a b\n"q"\\', 'team name=x,y': '\u0000\u0001\u001f\u007f', constructor: 'c' }, 0),
  target('container', { container: '🐳 容器 \ud800 \udc00', pod: 'x'.repeat(LONG), '\ud83d': '\udfff🐳' }, 1),
  target('netns', { netns_name: '' }, 2),
  target('netns', { netns_name: 'netns-1 \r\n# TYPE evil counter' }, 3),
];

let fixture: Batch;
beforeAll(async () => {
  fixture = (await fixturePipeline().runCycle(new Date((T0 + 19) * 1000))).batch;
});

describe.each<Protocol>(['http/json', 'http/protobuf'])('%s: hostile targets through the exporter\'s serializer', (protocol) => {
  it('property: every point decodes to exactly its target\'s attributes; nothing merges, moves to the resource or throws', () => {
    const untouched = hostAndAgentMetrics(roundTrip(protocol, withTargets(fixture, [])).decoded[0].metrics);
    fc.assert(
      fc.property(targetsArb, (targets) => {
        const { payload, starts, decoded } = roundTrip(protocol, withTargets(fixture, targets));
        expect(decoded).toHaveLength(1);
        expect(decoded[0].attributes).toStrictEqual(RESOURCE); // no label ever reaches the resource
        const metrics = decoded[0].metrics;
        const want = [fixture.results[0].target, ...targets].map((t) => wireAttributes(protocol, expectedAttributes(t)));
        const perTarget = metrics.filter((m) => NAMESPACE_METRICS.has(m.name));
        expect(perTarget).toHaveLength(fixture.results[1].samples.filter((x) => x.labels === undefined).length);
        // One point per target per metric, in batch order, with exactly the expected keys and values.
        for (const m of perTarget) expect(m.points.map((p) => p.attributes)).toStrictEqual(want);
        // Distinct targets stay distinct series: always in JSON; in protobuf unless they differ only
        // in lone surrogates (the example below).
        if (protocol === 'http/json') expect(distinct(want)).toBe(targets.length + 1);
        expect(distinct(perTarget[0].points.map((p) => p.attributes))).toBe(distinct(want));
        expect(hostAndAgentMetrics(metrics)).toStrictEqual(untouched); // host-wide and agent points as without them
        expect(metrics.reduce((n, m) => n + m.points.length, 0)).toBe(payload.points);
        expect(starts.size).toBe(counterPoints(payload)); // no two counter series share a start-time key
      }),
      { numRuns: RUNS, examples: [[ALL_AT_ONCE]] },
    );
  });
});

describe('target attributes and labels of hostile targets', () => {
  it('maps every sockpulse label to its semantic-convention attribute (the table above, one label at a time)', () => {
    expect(Object.keys(SEMCONV).sort()).toEqual([...OWN_KEYS].sort()); // a new label needs its attribute here
    for (const [label, attribute] of Object.entries(SEMCONV)) {
      if (label === 'scope') continue;
      const scope = label === 'netns_name' ? 'netns' : 'container';
      expect([label, targetAttributes(target(scope, { [label]: 'v' }))]).toEqual([label, { 'sockpulse.scope': scope, [attribute]: 'v' }]);
    }
    expect(targetAttributes(target('container', {}))).toEqual({ 'sockpulse.scope': 'container' });
    expect(targetAttributes(target('netns', {}, 7))).toEqual({ 'sockpulse.scope': 'netns', 'network.namespace': 'netns-4026533007' });
  });

  it('property: targetAttributes is exactly the contract; targetLabels adds only scope (and netns-<inode>)', () => {
    fc.assert(
      fc.property(targetsArb, (targets) => {
        for (const t of targets) {
          expect(targetAttributes(t)).toStrictEqual(expectedAttributes(t));
          const unnamed = t.scope === 'netns' && !t.labels.netns_name;
          expect({ ...targetLabels(t) }).toStrictEqual({ ...t.labels, scope: t.scope, ...(unnamed ? { netns_name: `netns-${t.netns}` } : {}) });
        }
      }),
      { numRuns: 3 * RUNS, examples: [[ALL_AT_ONCE]] },
    );
  });

  it('names copied labels called like Object.prototype members container.label.<key> (not "function Object() { [native code] }")', () => {
    const labels = Object.fromEntries([['constructor', 'a'], ['toString', 'b'], ['__proto__', 'c'], ['hasOwnProperty', 'd']]);
    expect(targetAttributes(target('container', labels))).toStrictEqual({
      'sockpulse.scope': 'container',
      'container.label.constructor': 'a',
      'container.label.toString': 'b',
      'container.label.__proto__': 'c',
      'container.label.hasOwnProperty': 'd',
    });
  });

  it('carries a lone surrogate exactly in JSON but as U+FFFD in protobuf, where names differing only there become one series', () => {
    const batch = withTargets(fixture, [target('container', { container: 'a\ud800' }, 1), target('container', { container: 'a\udbff' }, 2)]);
    const names = (p: Protocol) =>
      roundTrip(p, batch).decoded[0].metrics.find((m) => m.name === 'sockpulse.tcp.established')!.points.map((x) => x.attributes['container.name']);
    expect(names('http/json')).toEqual([undefined, 'a\ud800', 'a\udbff']);
    expect(names('http/protobuf')).toEqual([undefined, 'a\ufffd', 'a\ufffd']);
  });
});
