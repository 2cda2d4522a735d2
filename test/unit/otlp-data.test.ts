// A batch as OTLP data: names, units, types, attributes, scaling, timestamps and counter start
// times, on a real batch from the fixture proc tree (test/fixtures/proctree/README.md).
import { ValueType } from '@opentelemetry/api';
import { DataPointType, MetricData } from '@opentelemetry/sdk-metrics';
import { fixturePipeline } from '../helpers/pipeline';
import { Batch, Target } from '../../src/core/model';
import { SelfStats } from '../../src/core/self-stats';
import { ALL_METRICS, kernelPageSize, metricDef } from '../helpers/metrics';
import { CounterStarts, batchToOtlp, exporterSerializer, otlpResource, targetAttributes } from '../../src/deliver/otlp/data';
import { decodeOtlp } from '../helpers/otlp-receiver';

const T0 = 1_700_000_040;

async function fixtureBatch(): Promise<Batch> {
  const stats = new SelfStats();
  Object.assign(stats.sink('otlp'), { sent: 7, dropped: { buffer_full: 3 }, last_success: T0 - 60 });
  const agent = fixturePipeline({ stats });
  const { batch } = await agent.runCycle(new Date((T0 + 19) * 1000));
  batch.cycle.discover_ms = 12.5;
  return batch;
}

const resource = otlpResource('fixture-host', '9.9.9');
const at = (b: Batch, ts: number): Batch => ({ ...b, timestamp: ts });
function metric(ms: MetricData[], name: string): MetricData {
  const m = ms.find((x) => x.descriptor.name === name);
  if (!m) throw new Error(`no metric ${name}`);
  return m;
}
const sorted = (o: object): string => JSON.stringify(Object.entries(o).sort());
const byAttr = (m: MetricData, attrs: Record<string, unknown>) => m.dataPoints.find((p) => sorted(p.attributes) === sorted(attrs));

describe('batch → OTLP ResourceMetrics', () => {
  let batch: Batch;
  beforeAll(async () => {
    batch = await fixtureBatch();
  });

  it('carries service.name, service.version and host.name on the resource, and the scope', () => {
    const { data } = batchToOtlp(batch, resource, '9.9.9', new CounterStarts());
    expect(data.resource.attributes).toEqual({ 'service.name': 'sockpulse', 'service.version': '9.9.9', 'host.name': 'fixture-host' });
    expect(data.scopeMetrics).toHaveLength(1);
    expect(data.scopeMetrics[0].scope).toEqual({ name: 'sockpulse', version: '9.9.9' });
  });

  it('names, units and descriptions come from the catalog; levels are gauges, counters cumulative monotonic sums', () => {
    const { data } = batchToOtlp(batch, resource, '9.9.9', new CounterStarts());
    const metrics = data.scopeMetrics[0].metrics;
    expect(new Set(metrics.map((m) => m.descriptor.name)).size).toBe(metrics.length);
    for (const m of metrics) {
      const def = ALL_METRICS.find((d) => d.otel === m.descriptor.name)!;
      expect(m.descriptor).toMatchObject({ unit: def.unit, description: def.help });
      if (def.kind === 'counter') expect(m).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true, aggregationTemporality: 1 });
      else expect(m.dataPointType).toBe(DataPointType.GAUGE);
    }
    expect(metric(metrics, 'sockpulse.tcp.established').descriptor.unit).toBe('{connection}');
    expect(metric(metrics, 'sockpulse.tcp.active_opens').dataPointType).toBe(DataPointType.SUM);
  });

  it('maps target labels to OpenTelemetry attributes; host-wide points have none; agent points their own', () => {
    const { data, points } = batchToOtlp(batch, resource, '9.9.9', new CounterStarts());
    const metrics = data.scopeMetrics[0].metrics;
    const est = metric(metrics, 'sockpulse.tcp.established');
    expect(est.dataPoints.map((p) => p.attributes)).toEqual([
      { 'sockpulse.scope': 'host' },
      { 'sockpulse.scope': 'container', 'container.id': '4e3eb141f15f' },
      { 'sockpulse.scope': 'container', 'container.id': 'aaaaaaaaaaaa,bbbbbbbbbbbb', 'k8s.pod.uid': '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' },
      { 'sockpulse.scope': 'netns', 'network.namespace': 'netns-4026532500' },
      { 'sockpulse.scope': 'container', 'container.id': 'cccccccccccc' },
    ]);
    expect(est.dataPoints.map((p) => p.value)).toEqual([0, 11, 0, 11, 11]);
    expect(metric(metrics, 'sockpulse.host.tcp.orphans').dataPoints).toEqual([expect.objectContaining({ attributes: {}, value: 0 })]);
    expect(byAttr(metric(metrics, 'sockpulse.agent.errors'), { stage: 'collect' })!.value).toBe(1);
    expect(byAttr(metric(metrics, 'sockpulse.agent.sink.dropped'), { sink: 'otlp', reason: 'buffer_full' })!.value).toBe(3);
    expect(byAttr(metric(metrics, 'sockpulse.agent.sink.sent'), { sink: 'otlp' })!.value).toBe(7);
    expect(points).toBe(metrics.reduce((n, m) => n + m.dataPoints.length, 0));
  });

  it('gives each interface its own series: the target\'s attributes plus network.interface.name', () => {
    const metrics = batchToOtlp(batch, resource, '9.9.9', new CounterStarts()).data.scopeMetrics[0].metrics;
    const rx = metric(metrics, 'sockpulse.interface.receive.bytes');
    expect(rx.descriptor).toMatchObject({ unit: 'By', valueType: ValueType.INT });
    expect(byAttr(rx, { 'sockpulse.scope': 'host', 'network.interface.name': 'eth0' })!.value).toBe(1647497480);
    expect(byAttr(rx, { 'sockpulse.scope': 'container', 'container.id': '4e3eb141f15f', 'network.interface.name': 'eth0' })!.value).toBe(381);
    expect(rx.dataPoints.some((p) => p.attributes['network.interface.name'] === 'lo')).toBe(false); // left out by default
  });

  it('scales to base units: pages → bytes (int), milliseconds → seconds (double)', () => {
    const metrics = batchToOtlp(batch, resource, '9.9.9', new CounterStarts()).data.scopeMetrics[0].metrics;
    const mem = metric(metrics, 'sockpulse.host.tcp.memory');
    expect(mem.descriptor).toMatchObject({ unit: 'By', valueType: ValueType.INT });
    expect(mem.dataPoints[0].value).toBe(142 * kernelPageSize());
    const discover = metric(metrics, 'sockpulse.agent.cycle.discover.duration');
    expect(discover.descriptor).toMatchObject({ unit: 's', valueType: ValueType.DOUBLE });
    expect(discover.dataPoints[0].value).toBeCloseTo(0.0125, 10);
    expect(metric(metrics, 'sockpulse.agent.sink.last_success').dataPoints[0].value).toBe(T0 - 60);
  });

  it('stamps every point with the batch time; counters start when first seen and keep that start', () => {
    const starts = new CounterStarts();
    const first = batchToOtlp(batch, resource, '9.9.9', starts).data.scopeMetrics[0].metrics;
    const second = batchToOtlp(at(batch, T0 + 60), resource, '9.9.9', starts).data.scopeMetrics[0].metrics;
    for (const p of metric(first, 'sockpulse.tcp.established').dataPoints) expect(p.endTime).toEqual([T0, 0]);
    const opens = (ms: MetricData[]) => byAttr(metric(ms, 'sockpulse.tcp.active_opens'), { 'sockpulse.scope': 'container', 'container.id': '4e3eb141f15f' })!;
    expect(opens(first)).toMatchObject({ startTime: [T0, 0], endTime: [T0, 0], value: 9 });
    expect(opens(second)).toMatchObject({ startTime: [T0, 0], endTime: [T0 + 60, 0], value: 9 });
  });

  it('restarts a counter whose value went down, and forgets series absent from a batch', () => {
    const starts = new CounterStarts();
    const key = { 'sockpulse.scope': 'container', 'container.id': '4e3eb141f15f' };
    const opensAt = (b: Batch) => byAttr(metric(batchToOtlp(b, resource, '9.9.9', starts).data.scopeMetrics[0].metrics, 'sockpulse.tcp.active_opens'), key);
    const withOpens = (b: Batch, ts: number, v: number): Batch => ({
      ...at(b, ts),
      results: b.results.map((r) => (r.target.pid !== 300 ? r : { ...r, samples: r.samples.map((s) => (s.def.key === 'tcp_active_opens' ? { ...s, value: v } : s)) })),
    });
    expect(opensAt(withOpens(batch, T0, 9))!.startTime).toEqual([T0, 0]);
    expect(opensAt(withOpens(batch, T0 + 60, 20))!.startTime).toEqual([T0, 0]);
    expect(opensAt(withOpens(batch, T0 + 120, 4))!.startTime).toEqual([T0 + 120, 0]); // recreated
    const size = starts.size;
    const without = { ...at(batch, T0 + 180), results: batch.results.filter((r) => r.target.pid !== 300) };
    expect(opensAt(without)).toBeUndefined(); // its gauges and counters are gone from this batch
    const counters = batch.results.find((r) => r.target.pid === 300)!.samples.filter((x) => x.def.kind === 'counter').length;
    expect(counters).toBeGreaterThan(13);
    expect(starts.size).toBe(size - counters); // its counters (protocols, interfaces) are forgotten
    expect(opensAt(withOpens(batch, T0 + 240, 30))!.startTime).toEqual([T0 + 240, 0]);
  });

  it.each(['http/protobuf', 'http/json'] as const)('%s: bytes from the exporter\'s own serializer, decodable by the official definitions', (protocol) => {
    const { data, points } = batchToOtlp(batch, resource, '9.9.9', new CounterStarts());
    const body = exporterSerializer(protocol).serializeRequest(data)!;
    const [decoded] = decodeOtlp(Buffer.from(body), protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
    expect(decoded.metrics.reduce((n, m) => n + m.points.length, 0)).toBe(points);
    expect(decoded.metrics.find((m) => m.name === 'sockpulse.host.tcp.memory')).toMatchObject({ type: 'gauge', unit: 'By', valueKind: 'asInt' });
  });

  it('leaves out values that are not finite numbers and counts them', () => {
    const bad = { ...batch, results: [{ ...batch.results[1], samples: [{ def: metricDef('established')!, value: NaN }] }] };
    const out = batchToOtlp(bad, resource, '9.9.9', new CounterStarts());
    expect(out.skipped).toBe(1);
    expect(out.data.scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'sockpulse.tcp.established')).toBeUndefined();
  });
});

describe('target attributes', () => {
  const target = (over: Partial<Target>): Target => ({ netns: 4026532999, pid: 9, pidStart: 1, scope: 'container', containers: [], labels: {}, ...over });

  it('follows the semantic conventions for containers and Kubernetes; other labels are container.label.<key>', () => {
    const labels = {
      container: 'web', container_id: '0123456789ab', image: 'nginx:1.27', pod: 'web-0', namespace: 'shop', pod_uid: 'u-1',
      kube_container: 'nginx', compose_project: 'shop', compose_service: 'web', team: 'payments', 'com.example.tier': 'gold',
    };
    expect(targetAttributes(target({ labels }))).toEqual({
      'sockpulse.scope': 'container',
      'container.name': 'web',
      'container.id': '0123456789ab',
      'container.image.name': 'nginx:1.27',
      'k8s.pod.name': 'web-0',
      'k8s.namespace.name': 'shop',
      'k8s.pod.uid': 'u-1',
      'k8s.container.name': 'nginx',
      'container.label.com.docker.compose.project': 'shop',
      'container.label.com.docker.compose.service': 'web',
      'container.label.team': 'payments',
      'container.label.com.example.tier': 'gold',
    });
  });

  it('names a namespace by its ip-netns name, else netns-<inode>', () => {
    expect(targetAttributes(target({ scope: 'netns', labels: { netns_name: 'blue' } }))).toEqual({ 'sockpulse.scope': 'netns', 'network.namespace': 'blue' });
    expect(targetAttributes(target({ scope: 'netns' }))).toEqual({ 'sockpulse.scope': 'netns', 'network.namespace': 'netns-4026532999' });
    expect(targetAttributes(target({ scope: 'host', netns: 4026531840 }))).toEqual({ 'sockpulse.scope': 'host' });
  });
});
