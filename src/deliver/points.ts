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
  /**
   * Point-specific labels: `stage`, `sink`, `reason` on agent metrics; a sample's own labels
   * (`interface`) on kernel metrics that have several series per namespace; otherwise none.
   */
  labels: Record<string, string>;
}

/** The labels of a point that has none (most of them): one shared, frozen object. */
const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Whether a point carries labels of its own (an agent metric's stage or sink, a sample's interface
 * or flow class). Most points have none and share NO_LABELS: one comparison, no key array, on the
 * sinks' per-point paths.
 */
export function hasLabels(p: Point): boolean {
  return p.labels !== NO_LABELS && Object.keys(p.labels).length > 0;
}

/** Each batch's points, made once for all the sinks that ask (a cycle at 1000 namespaces: ~18 000). */
const made = new WeakMap<Batch, { all?: Point[]; kernel?: Point[] }>();

/**
 * The points of a batch. Every sink of a cycle gets the same array and the same Point objects:
 * read them, never change them.
 */
export function batchPoints(batch: Batch, withSelf = true): Point[] {
  let m = made.get(batch);
  if (!m) made.set(batch, (m = {}));
  if (withSelf) return (m.all ??= [...(m.kernel ??= kernelPoints(batch)), ...selfPoints(batch)]);
  return (m.kernel ??= kernelPoints(batch));
}

function kernelPoints(batch: Batch): Point[] {
  const out: Point[] = [];
  for (const r of batch.results) {
    for (const s of r.samples) {
      // Host-wide numbers describe no namespace: no target, no target labels.
      const labels = s.labels ?? NO_LABELS;
      out.push(s.def.scope === 'host' ? { def: s.def, value: s.value, labels } : { def: s.def, value: s.value, target: r.target, labels });
    }
  }
  return out;
}

function selfPoints(batch: Batch): Point[] {
  const c = batch.cycle;
  const s = batch.self;
  const p = (key: string, value: number | null | undefined, labels: Record<string, string> = NO_LABELS): Point[] =>
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
    ...Object.entries(c.collectors).flatMap(([collector, k]) => p('collector.unresolved', k.unresolved, { collector })),
    ...Object.entries(s.collector_errors).flatMap(([collector, n]) => p('collector.errors', n, { collector })),
    ...Object.entries(c.collectors).flatMap(([collector, k]) => p('collector.series', k.series, { collector })),
    ...Object.entries(s.collector_series_dropped ?? {}).flatMap(([collector, n]) => p('collector.series_dropped', n, { collector })),
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
