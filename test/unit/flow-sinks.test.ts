// The flows collector's counters carry their own labels (direction, class, proto) next to the
// target's: every metric sink must keep them, and keep two series of one metric apart.
import { Batch, Target } from '../../src/core/model';
import { flowBytes, flowPackets } from '../../src/collect/flows/totals';
import { batchPoints } from '../../src/deliver/points';
import { pointLabels } from '../../src/deliver/statsd/lines';
import { buildExposition, copyLabelNames } from '../../src/deliver/prometheus/registry';
import { CounterStarts, batchToOtlp, otlpResource } from '../../src/deliver/otlp/data';
import { encodePoints } from '../../src/deliver/falcon/items';
import { batchDocument } from '../../src/deliver/stdout/json-doc';
import { ALL_METRICS } from '../helpers/metrics';

const pod: Target = { netns: 4026532001, pid: 42, pidStart: 7, scope: 'container', containers: [], labels: { pod: 'web-1', namespace: 'shop' }, ips: ['10.1.0.5'] };
const out = { direction: 'out', class: 'cross_zone', proto: 'tcp' };
const inn = { direction: 'in', class: 'cross_zone', proto: 'tcp' };

const batch: Batch = {
  timestamp: 1_700_000_040, step: 60, host: 'node-1', kernel: '6.18', errors: [],
  results: [{ target: pod, samples: [
    { def: flowBytes, value: 1500, labels: out }, { def: flowPackets, value: 12, labels: out },
    { def: flowBytes, value: 9000, labels: inn }, { def: flowPackets, value: 10, labels: inn },
  ] }],
  cycle: { discover_ms: 0, collect_ms: 0, targets: 1, skipped: 0, errors: 0, discovery: 'test', collectors: {} },
  self: { cycles: 1, ticks_skipped: 0, deliver_ms: null, errors: { discover: 0, collect: 0, deliver: 0 }, collector_errors: {}, collector_series_dropped: {}, sinks: {} },
};

describe('flow counters through the sinks', () => {
  const points = batchPoints(batch, false);

  it('points keep the sample labels and the target', () => {
    expect(points.map((p) => [p.def.key, p.value, p.labels, p.target === pod])).toEqual([
      ['flow_bytes', 1500, out, true], ['flow_packets', 12, out, true], ['flow_bytes', 9000, inn, true], ['flow_packets', 10, inn, true],
    ]);
  });

  it('StatsD: target labels and flow labels', () => {
    expect(Object.fromEntries(pointLabels(points[0]))).toEqual({ scope: 'container', pod: 'web-1', namespace: 'shop', ...out });
  });

  it('Prometheus: two series of one family, told apart by direction', async () => {
    const text = await buildExposition(points, copyLabelNames([], ALL_METRICS), ALL_METRICS).registry.metrics();
    const lines = text.split('\n').filter((l) => l.startsWith('sockpulse_flow_bytes_total{'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/pod="web-1".*direction="out",class="cross_zone",proto="tcp"\} 1500$/);
    expect(lines[1]).toMatch(/direction="in",class="cross_zone",proto="tcp"\} 9000$/);
  });

  it('OTLP: attributes of the target plus the flow labels', () => {
    const { data } = batchToOtlp(batch, otlpResource('node-1', '0'), '0', new CounterStarts());
    const m = data.scopeMetrics[0].metrics.find((x) => x.descriptor.name === 'sockpulse.flow.bytes')!;
    expect(m.dataPoints.map((d) => [d.attributes.direction, d.attributes['k8s.pod.name'] ?? d.attributes.pod, d.value])).toEqual([['out', 'web-1', 1500], ['in', 'web-1', 9000]]);
  });

  it('Open-Falcon: tags hold the flow labels', () => {
    const { items } = encodePoints(points, { prefix: 'sockpulse', endpoint: '{hostname}', hostname: 'node-1', step: 60, timestamp: batch.timestamp, copyLabels: [], catalog: ALL_METRICS });
    const bytes = items.filter((i) => i.metric === 'sockpulse.flow.bytes');
    expect(bytes.map((i) => [i.value, i.counterType])).toEqual([[1500, 'COUNTER'], [9000, 'COUNTER']]);
    expect(bytes[0].tags).toMatch(/direction=out.*class=cross_zone.*proto=tcp|class=cross_zone.*direction=out/);
  });

  it('stdout JSON: a flows list per target, not mixed into counters', () => {
    const doc = batchDocument(batch, ALL_METRICS) as { targets: { counters: object; flows: object[] }[] };
    expect(doc.targets[0].counters).toEqual({});
    expect(doc.targets[0].flows).toEqual([{ ...out, bytes: 1500, packets: 12 }, { ...inn, bytes: 9000, packets: 10 }]);
  });
});
