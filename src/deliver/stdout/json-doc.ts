// The JSON document of one cycle (`--once --format json`): a public interface, documented in
// the README. Absent values are null, never 0. The kernel's orphan count is host-wide: it is the
// host target's `orphan` (and `host_wide.orphan`); every other target's `orphan` is null.
import { Batch, TargetSamples } from '../../core/model';
import { MetricDef } from '../../core/metrics';
import { CORE_STATS, hostWideKeys, hostWideValues, namespaceValues } from '../../core/stats';

export function batchDocument(batch: Batch, catalog: readonly MetricDef[]): object {
  const hostWide = hostWideValues(batch.results);
  return {
    timestamp: batch.timestamp,
    host: batch.host,
    kernel: batch.kernel,
    cycle: batch.cycle,
    host_wide: Object.fromEntries(hostWideKeys(catalog).map((k) => [k, hostWide.get(k) ?? null])),
    targets: batch.results.map((r) => {
      const v = namespaceValues(r);
      if (r.target.scope === 'host' && hostWide.has('orphan')) v.set('orphan', hostWide.get('orphan')!);
      return {
        netns: r.target.netns,
        pid: r.target.pid,
        scope: r.target.scope,
        containers: r.target.containers.map((c) => ({ id: c.id, name: c.name ?? null, image: c.image ?? null })),
        labels: r.target.labels,
        ...(r.target.ips ? { ips: r.target.ips } : {}),
        stats: Object.fromEntries(CORE_STATS.map((k) => [k, v.get(k) ?? null])),
        counters: Object.fromEntries(namespaceValues(r, 'counter')),
        ...flowTotals(r),
      };
    }),
    self: batch.self,
    errors: batch.errors.map((e) => ({ stage: e.stage, code: e.code, message: e.message, ...(e.subject ? { subject: e.subject } : {}) })),
  };
}

/**
 * The flows collector's counters (labelled samples), when it is on: `flows` lists
 * { direction, class, proto, bytes, packets } totals since the agent started, ordered by class,
 * proto, then out before in.
 */
function flowTotals(r: TargetSamples): { flows?: Record<string, string | number>[] } {
  const rows = new Map<string, Record<string, string | number>>();
  for (const s of r.samples) {
    if (!s.labels) continue;
    const { direction, class: cls, proto } = s.labels;
    const k = `${direction} ${cls} ${proto}`;
    let row = rows.get(k);
    if (!row) rows.set(k, (row = { direction, class: cls, proto }));
    if (s.def.key === 'flow_bytes') row.bytes = s.value;
    else if (s.def.key === 'flow_packets') row.packets = s.value;
  }
  const order = (r: Record<string, string | number>): string => `${String(r.class)} ${String(r.proto)} ${r.direction === 'out' ? 0 : 1}`;
  return rows.size > 0 ? { flows: [...rows.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0)) } : {};
}
