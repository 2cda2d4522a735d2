// The JSON document of one cycle (`--once --format json`): a public interface, documented in
// the README. Absent values are null, never 0. Each target's `orphan` is its own namespace's count
// (the orphans collector; the host target's is the host namespace's own); the kernel's host-wide
// count is `host_wide.orphan`.
import { Batch } from '../../core/model';
import { MetricDef } from '../../core/metrics';
import { CORE_STATS, hostWideKeys, hostWideValues, namespaceValues } from '../../core/stats';
import { labelledSections } from './json-sections';

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
        // Samples with labels of their own, where their definitions put them (MetricDef.json):
        // `interfaces`, `flows`.
        ...labelledSections(r),
      };
    }),
    self: batch.self,
    errors: batch.errors.map((e) => ({ stage: e.stage, code: e.code, message: e.message, ...(e.subject ? { subject: e.subject } : {}) })),
  };
}
