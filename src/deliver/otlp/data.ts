// A batch as OTLP data (the SDK's ResourceMetrics, which the OTLP exporters serialise), built
// directly rather than through instruments: every point carries the batch's timestamp, and a
// gauge exists only for the targets of this batch, so a vanished container's series stops.
// Counters are cumulative sums; their start time is when this sink first saw the series, and it
// restarts when the value goes down (a namespace recreated under the same attributes) — the rule
// of the OpenTelemetry Collector's metric adjuster for counters of unknown start.
// http/json bytes come from the OTLP exporter's own serializer (see exporterSerializer); http/protobuf
// bytes are written by otlp/protobuf.ts, byte for byte what the exporter's serializer makes of this.
import * as path from 'path';
import { ValueType } from '@opentelemetry/api';
import { Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPoint, DataPointType, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { Batch } from '../../core/model';
import type { OtlpProtocol } from './config';
import { MetricDef } from '../../core/metrics';
import { CounterStarts, SCOPE_NAME, isIntMetric, otlpPoints, resourceAttributes } from './protobuf';

export { CounterStarts, SCOPE_NAME, TARGET_ATTRIBUTES, targetAttributes } from './protobuf';

export function otlpResource(hostname: string, version: string): Resource {
  return resourceFromAttributes(resourceAttributes(hostname, version));
}

export interface OtlpPayload {
  data: ResourceMetrics;
  /** Data points in `data`. */
  points: number;
  /** Points left out (a value that is not a finite number). */
  skipped: number;
}

function valueType(def: MetricDef): ValueType {
  return isIntMetric(def) ? ValueType.INT : ValueType.DOUBLE;
}

export function batchToOtlp(batch: Batch, resource: Resource, version: string, starts: CounterStarts): OtlpPayload {
  const at: [number, number] = [batch.timestamp, 0];
  const byName = new Map<string, { def: MetricDef; points: DataPoint<number>[] }>();
  const { points, skipped } = otlpPoints(batch, starts, (def, a, start, value) => {
    let m = byName.get(def.otel);
    if (!m) byName.set(def.otel, (m = { def, points: [] }));
    // A namespace's points share one attributes object: the serializer only reads it.
    m.points.push({ startTime: start === batch.timestamp ? at : [start, 0], endTime: at, attributes: a.attributes, value });
  });
  const metrics = [...byName.values()].map(({ def, points: dataPoints }): MetricData => {
    const descriptor = { name: def.otel, description: def.help, unit: def.unit, valueType: valueType(def) };
    const aggregationTemporality = AggregationTemporality.CUMULATIVE;
    return def.kind === 'counter'
      ? { descriptor, aggregationTemporality, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints }
      : { descriptor, aggregationTemporality, dataPointType: DataPointType.GAUGE, dataPoints };
  });
  return { data: { resource, scopeMetrics: [{ scope: { name: SCOPE_NAME, version }, metrics }] }, points, skipped };
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
