// The canonical statistics and where each one lives.
import { SampleKind, TargetSamples } from './model';

/** The six per-namespace statistics, in display order. `orphan` is only ever the host's. */
export const CORE_STATS = ['established', 'inuse', 'timewait', 'orphan', 'total', 'udp'] as const;

/** Kernel numbers that are the same in every namespace: reported once, for the host. */
export const HOST_WIDE_STATS = ['orphan', 'tcp_alloc', 'tcp_mem_pages', 'udp_mem_pages'] as const;

/** key → value for a target's namespace-scoped samples of one kind; host-wide ones are left out. */
export function namespaceValues(r: TargetSamples, kind: SampleKind = 'gauge'): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of r.samples) if (!s.hostWide && s.kind === kind) m.set(s.key, s.value);
  return m;
}

/** key → value of the host-wide samples (only the host target carries them). */
export function hostWideValues(results: TargetSamples[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of results) for (const s of r.samples) if (s.hostWide) m.set(s.key, s.value);
  return m;
}
