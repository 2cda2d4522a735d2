// The series budget (`max_series`): when one cycle's collectors produce more series than the
// budget, the excess is dropped before anything is delivered, so a collector that explodes (a
// regex that matches every counter, a host with thousands of interfaces) cannot flood a backend.
//
// Deterministic: the same samples always lose the same series. Collectors are emptied lowest
// priority first (ties: the later one in the registry first); within a collector, container and
// netns targets lose theirs before the host target, higher namespace inodes before lower ones,
// and a target's series in reverse of the order the collector emitted them. Exactly the excess is
// dropped. Every series is one sample of one target this cycle (host-wide numbers included, the
// agent's own metrics not: they are few and fixed).
import { TargetSamples } from '../core/model';
import { MetricDef } from '../core/metrics';

export interface BudgetedCollector {
  name: string;
  priority: number;
  declared: ReadonlySet<MetricDef>;
  /** Metric families it declared: a generated member (protocols) belongs to its family's collector. */
  families?: ReadonlySet<string>;
}

export interface SeriesCount {
  /** collector → series it produced this cycle (before the budget). */
  series: Record<string, number>;
  /** collector → series the budget dropped this cycle. */
  dropped: Record<string, number>;
}

/** Counts series per collector and, when `max` > 0 and they exceed it, removes the excess from `results` (in place). */
export function applySeriesBudget(results: TargetSamples[], collectors: readonly BudgetedCollector[], max: number): SeriesCount {
  const byDef = new Map<MetricDef, number>();
  const byFamily = new Map<string, number>();
  collectors.forEach((c, i) => {
    c.declared.forEach((d) => byDef.set(d, i));
    c.families?.forEach((f) => byFamily.set(f, i));
  });
  const owner = { get: (d: MetricDef): number | undefined => byDef.get(d) ?? (d.family !== undefined ? byFamily.get(d.family) : undefined) };
  const series = collectors.map(() => 0);
  let total = 0;
  for (const r of results) {
    for (const s of r.samples) {
      const i = owner.get(s.def);
      if (i !== undefined) series[i]++;
      total++;
    }
  }
  const dropped = collectors.map(() => 0);
  let excess = max > 0 ? total - max : 0;
  if (excess > 0) {
    const order = collectors.map((c, i) => ({ c, i })).sort((a, b) => a.c.priority - b.c.priority || b.i - a.i);
    // Who loses first among targets: not the host, then the higher namespace inode.
    const targets = [...results].sort((a, b) => Number(a.target.scope === 'host') - Number(b.target.scope === 'host') || b.target.netns - a.target.netns);
    for (const { i } of order) {
      for (const r of targets) {
        for (let k = r.samples.length - 1; k >= 0 && excess > 0; k--) {
          if (owner.get(r.samples[k].def) !== i) continue;
          r.samples.splice(k, 1);
          dropped[i]++;
          excess--;
        }
        if (excess === 0) break;
      }
      if (excess === 0) break;
    }
    for (let k = results.length - 1; k >= 0; k--) if (results[k].samples.length === 0) results.splice(k, 1);
  }
  const byName = (v: number[]): Record<string, number> => Object.fromEntries(collectors.map((c, i) => [c.name, v[i]]));
  return { series: byName(series), dropped: byName(dropped) };
}
