// The six per-namespace statistics of the JSON contract and the table, and reading a target's
// samples back by key. Which numbers are host-wide is decided once, by each metric's declared scope.
import { TargetSamples } from './model';
import { MetricDef } from './metrics';

/** The six per-namespace statistics, in display order (`orphan`: the namespace's own, from its socket tables). */
export const CORE_STATS = ['established', 'inuse', 'timewait', 'orphan', 'total', 'udp'] as const;

/**
 * key → value for a target's namespace-scoped samples of one kind; host-wide ones, and samples
 * with labels of their own (one of several series of a key: deliver/stdout/json-sections.ts), are left out.
 */
export function namespaceValues(r: TargetSamples, kind: MetricDef['kind'] = 'gauge'): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of r.samples) if (s.def.scope === 'namespace' && s.def.kind === kind && s.labels === undefined) m.set(s.def.key, s.value);
  return m;
}

/** key → value of the host-wide samples (only the host target carries them). */
export function hostWideValues(results: TargetSamples[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of results) for (const s of r.samples) if (s.def.scope === 'host') m.set(s.def.key, s.value);
  return m;
}

/** The keys of the host-wide metrics in a catalog, in its order. */
export function hostWideKeys(catalog: readonly MetricDef[]): string[] {
  return catalog.filter((d) => d.scope === 'host').map((d) => d.key);
}
