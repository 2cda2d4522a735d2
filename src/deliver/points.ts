// A batch as a flat list of points, each with its metric definition and labels. Sinks map points
// to their wire format; they never walk the batch themselves.
import { Batch, Target } from '../core/model';
import { MetricDef, agentMetricDef } from '../core/metrics';
import { TARGET_LABEL_KEYS, targetLabels } from '../core/labels';

export { TARGET_LABEL_KEYS, targetLabels };

export interface Point {
  def: MetricDef;
  value: number;
  /** The namespace a `namespace`-scoped point describes; absent for host-wide and agent points. */
  target?: Target;
  /** Point-specific labels: `stage`, `sink`, `reason` on agent metrics; `direction`, `class`, `proto` on flow counters; none on the other kernel metrics. */
  labels: Record<string, string>;
}

export function batchPoints(batch: Batch, withSelf = true): Point[] {
  const out: Point[] = [];
  for (const r of batch.results) {
    for (const s of r.samples) {
      // Host-wide numbers describe no namespace: no target, no target labels.
      const labels = s.labels ?? {};
      out.push(s.def.scope === 'host' ? { def: s.def, value: s.value, labels } : { def: s.def, value: s.value, target: r.target, labels });
    }
  }
  if (withSelf) out.push(...selfPoints(batch));
  return out;
}

function selfPoints(batch: Batch): Point[] {
  const c = batch.cycle;
  const s = batch.self;
  const p = (key: string, value: number | null | undefined, labels: Record<string, string> = {}): Point[] =>
    value === null || value === undefined ? [] : [{ def: agentMetricDef(key), value, labels }];
  return [
    ...p('cycle.discover_ms', c.discover_ms),
    ...p('cycle.collect_ms', c.collect_ms),
    ...p('cycle.deliver_ms', s.deliver_ms),
    ...p('targets', c.targets),
    ...p('skipped', c.skipped),
    ...p('cycles', s.cycles),
    ...p('ticks_skipped', s.ticks_skipped),
    ...Object.entries(s.errors).flatMap(([stage, n]) => p('errors', n, { stage })),
    ...Object.entries(c.collectors).flatMap(([collector, k]) => p('collector.duration_ms', k.ms, { collector })),
    ...Object.entries(s.collector_errors).flatMap(([collector, n]) => p('collector.errors', n, { collector })),
    ...Object.entries(s.sinks).flatMap(([sink, k]) => [
      ...p('sink.sent', k.sent, { sink }),
      ...p('sink.retried', k.retried, { sink }),
      ...p('sink.invalid', k.invalid, { sink }),
      ...p('sink.labels_dropped', k.labels_dropped, { sink }),
      ...p('sink.buffered', k.buffered, { sink }),
      ...p('sink.last_success', k.last_success, { sink }),
      ...Object.entries(k.dropped).flatMap(([reason, n]) => p('sink.dropped', n, { sink, reason })),
    ]),
  ];
}
