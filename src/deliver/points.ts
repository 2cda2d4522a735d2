// A batch as a flat list of points, each with its metric definition and labels. Sinks map points
// to their wire format; they never walk the batch themselves.
import { Batch, Target } from '../core/model';
import { MetricDef, agentMetricDef, metricDef } from '../core/metrics';
import { labelMap } from '../core/labels';

export interface Point {
  def: MetricDef;
  value: number;
  /** The namespace a `namespace`-scoped point describes; absent for host-wide and agent points. */
  target?: Target;
  /** Point-specific labels: `stage`, `sink`, `reason` on agent metrics; none on kernel metrics. */
  labels: Record<string, string>;
}

/**
 * Label keys a target may carry, in a stable order: `scope` first, then what discovery sets
 * (core/labels.ts), then the configured copied Docker labels.
 */
export const TARGET_LABEL_KEYS = [
  'scope', 'container', 'container_id', 'image', 'pod', 'namespace', 'pod_uid', 'kube_container',
  'compose_project', 'compose_service', 'netns_name',
] as const;

/**
 * The labels of a target as sinks emit them: its discovery labels plus `scope` (which nothing
 * overrides). A namespace with neither a container nor a name gets `netns_name` = `netns-<inode>`
 * (unchanged by every backend's escaping), so two of them never merge into one series.
 */
export function targetLabels(t: Target): Record<string, string> {
  const out = labelMap(t.labels);
  out.scope = t.scope;
  if (t.scope === 'netns' && !out.netns_name) out.netns_name = `netns-${t.netns}`;
  return out;
}

export function batchPoints(batch: Batch, withSelf = true): Point[] {
  const out: Point[] = [];
  for (const r of batch.results) {
    for (const s of r.samples) {
      const def = metricDef(s.key);
      if (!def) continue; // a collector's sample without a catalog entry is not emitted
      out.push(s.hostWide ? { def, value: s.value, labels: {} } : { def, value: s.value, target: r.target, labels: {} });
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
