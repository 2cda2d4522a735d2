// A batch as OTLP data (the SDK's ResourceMetrics, which the OTLP exporters serialise), built
// directly rather than through instruments: every point carries the batch's timestamp, and a
// gauge exists only for the targets of this batch, so a vanished container's series stops.
// Counters are cumulative sums; their start time is when this sink first saw the series, and it
// restarts when the value goes down (a namespace recreated under the same attributes) — the rule
// of the OpenTelemetry Collector's metric adjuster for counters of unknown start.
// Bytes on the wire come from the OTLP exporters' own serializers (see exporterSerializer).
import * as path from 'path';
import { Attributes, ValueType } from '@opentelemetry/api';
import { Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPoint, DataPointType, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { Batch, Target } from '../../core/model';
import type { OtlpProtocol } from './config';
import { MetricDef } from '../../core/metrics';
import { batchPoints, targetLabels } from '../points';

export const SCOPE_NAME = 'sockpulse';

/** Target label → OpenTelemetry attribute (semantic conventions where one exists). */
export const TARGET_ATTRIBUTES: Readonly<Record<string, string>> = {
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

export function otlpResource(hostname: string, version: string): Resource {
  return resourceFromAttributes({ 'service.name': 'sockpulse', 'service.version': version, 'host.name': hostname });
}

/**
 * A target's attributes. Copied Docker labels become `container.label.<key>` (semantic
 * conventions). An unnamed plain namespace is named `netns-<inode>` as in every sink (points.ts), so
 * two of them never fall into one series.
 */
export function targetAttributes(t: Target): Attributes {
  const out: Attributes = {};
  // Own keys only: a copied Docker label named after an Object.prototype member (`constructor`,
  // `toString`, `__proto__`…) would otherwise look up that member and name the attribute
  // "function Object() { [native code] }" or "[object Object]".
  for (const [k, v] of Object.entries(targetLabels(t))) out[Object.hasOwn(TARGET_ATTRIBUTES, k) ? TARGET_ATTRIBUTES[k] : `container.label.${k}`] = v;
  if (t.scope === 'netns' && out['network.namespace'] === undefined) out['network.namespace'] = `netns-${t.netns}`;
  return out;
}

/** Start times of cumulative series, per instance; series absent from a batch are forgotten. */
export class CounterStarts {
  private series = new Map<string, { start: number; value: number }>();
  private next = new Map<string, { start: number; value: number }>();

  startOf(key: string, value: number, ts: number): number {
    const prev = this.series.get(key);
    const start = prev && value >= prev.value ? prev.start : ts;
    this.next.set(key, { start, value });
    return start;
  }

  /** Ends a batch: what it did not mention is forgotten. */
  commit(): void {
    this.series = this.next;
    this.next = new Map();
  }

  get size(): number {
    return this.series.size;
  }
}

export interface OtlpPayload {
  data: ResourceMetrics;
  /** Data points in `data`. */
  points: number;
  /** Points left out (a value that is not a finite number). */
  skipped: number;
}

/** Integral scaling keeps a kernel integer an integer (pages → bytes); ms → s makes doubles. */
function valueType(def: MetricDef): ValueType {
  return Number.isInteger(def.toBaseUnit ?? 1) ? ValueType.INT : ValueType.DOUBLE;
}

export function batchToOtlp(batch: Batch, resource: Resource, version: string, starts: CounterStarts): OtlpPayload {
  const at: [number, number] = [batch.timestamp, 0];
  const byName = new Map<string, { def: MetricDef; points: DataPoint<number>[] }>();
  let points = 0;
  let skipped = 0;
  for (const p of batchPoints(batch)) {
    const value = p.value * (p.def.toBaseUnit ?? 1);
    if (!Number.isFinite(value) || (valueType(p.def) === ValueType.INT && !Number.isInteger(value))) {
      skipped++;
      continue;
    }
    const attributes: Attributes = p.target ? { ...targetAttributes(p.target), ...p.labels } : { ...p.labels };
    let startTime = at;
    if (p.def.kind === 'counter') startTime = [starts.startOf(seriesKey(p.def.otel, attributes), value, batch.timestamp), 0];
    let m = byName.get(p.def.otel);
    if (!m) byName.set(p.def.otel, (m = { def: p.def, points: [] }));
    m.points.push({ startTime, endTime: at, attributes, value });
    points++;
  }
  starts.commit();
  const metrics = [...byName.values()].map(({ def, points: dataPoints }): MetricData => {
    const descriptor = { name: def.otel, description: def.help, unit: def.unit, valueType: valueType(def) };
    const aggregationTemporality = AggregationTemporality.CUMULATIVE;
    return def.kind === 'counter'
      ? { descriptor, aggregationTemporality, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints }
      : { descriptor, aggregationTemporality, dataPointType: DataPointType.GAUGE, dataPoints };
  });
  return { data: { resource, scopeMetrics: [{ scope: { name: SCOPE_NAME, version }, metrics }] }, points, skipped };
}

function seriesKey(name: string, attributes: Attributes): string {
  return JSON.stringify([name, ...Object.keys(attributes).sort().map((k) => [k, attributes[k]])]);
}

/** What the OTLP exporters' serializers do: ResourceMetrics → request bytes, response bytes → reply. */
export interface OtlpSerializer {
  serializeRequest(data: ResourceMetrics): Uint8Array | undefined;
  deserializeResponse(data: Uint8Array): { partialSuccess?: { rejectedDataPoints?: number | string; errorMessage?: string } };
}

/**
 * The serializer of the OTLP exporter for this protocol (-http sends JSON, -proto protobuf), taken
 * from the exact @opentelemetry/otlp-transformer that exporter depends on, resolved from its own
 * directory. A plain require could find another release: the devDependency of the same name is
 * kept at ≤ 0.217 for its generated protobuf code (the tests' receiver).
 */
export function exporterSerializer(protocol: OtlpProtocol): OtlpSerializer {
  const json = protocol === 'http/json';
  const exporter = json ? '@opentelemetry/exporter-metrics-otlp-http' : '@opentelemetry/exporter-metrics-otlp-proto';
  const from = path.dirname(require.resolve(exporter));
  const transformer = require(require.resolve('@opentelemetry/otlp-transformer', { paths: [from] })) as Record<string, OtlpSerializer>;
  const s = transformer[json ? 'JsonMetricsSerializer' : 'ProtobufMetricsSerializer'];
  if (!s) throw new Error(`the @opentelemetry/otlp-transformer of ${exporter} has no serializer for ${protocol}`);
  return s;
}
