// The JSON document of one cycle (`--once --format json`): a public interface, documented in
// the README. Absent values are null, never 0. Each target's `orphan` is its own namespace's count
// (the orphans collector; the host target's is the host namespace's own); the kernel's host-wide
// count is `host_wide.orphan`.
import { Batch, TargetSamples } from '../../core/model';
import { MetricDef } from '../../core/metrics';
import { CORE_STATS, hostWideKeys, hostWideValues, labelledValues, namespaceValues } from '../../core/stats';

/** `interfaces: { eth0: { if_rx_bytes: … } }` when the interfaces collector reported any. */
function interfaces(r: TargetSamples): { interfaces?: Record<string, Record<string, number>> } {
  const byIface = labelledValues(r, 'interface');
  return byIface.size === 0 ? {} : { interfaces: Object.fromEntries([...byIface].map(([name, m]) => [name, Object.fromEntries(m)])) };
}

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
      const more = [...v].filter(([k]) => !(CORE_STATS as readonly string[]).includes(k));
      return {
        netns: r.target.netns,
        pid: r.target.pid,
        scope: r.target.scope,
        containers: r.target.containers.map((c) => ({ id: c.id, name: c.name ?? null, image: c.image ?? null })),
        labels: r.target.labels,
        ...(r.target.ips ? { ips: r.target.ips } : {}),
        stats: Object.fromEntries(CORE_STATS.map((k) => [k, v.get(k) ?? null])),
        // The namespace's other gauges (orphans' neighbours: conntrack_entries, tcp states, …):
        // present when read, left out when absent.
        gauges: Object.fromEntries(more),
        counters: Object.fromEntries(namespaceValues(r, 'counter')),
        ...interfaces(r),
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
    if (!s.labels || (s.def.key !== 'flow_bytes' && s.def.key !== 'flow_packets')) continue;
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
