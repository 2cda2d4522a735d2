// The metric catalog as tests look it up: by key, among the collectors' metrics (the registry's).
import { catalog } from '../../src/collect/registry';
import { MetricDef, agentMetricDef, kernelPageSize } from '../../src/core/metrics';

export const ALL_METRICS: readonly MetricDef[] = catalog();

/** A collector's metric by sample key. */
export function metricDef(key: string): MetricDef | undefined {
  return ALL_METRICS.find((d) => d.key === key && d.scope !== 'agent');
}

export { MetricDef, agentMetricDef, kernelPageSize };
