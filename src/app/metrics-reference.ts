// The metric reference in the README, generated from the catalog (see src/app/docs.ts).
import { ALL_METRICS, MetricDef } from '../core/metrics';

const SCOPE: Record<MetricDef['scope'], string> = {
  namespace: 'per namespace',
  host: 'host-wide (host only)',
  agent: 'sockpulse itself',
};

export function metricsReference(): string {
  return [
    '| key | type | scope | Open-Falcon / StatsD (after the prefix) | Prometheus | OTLP (unit) | source |',
    '|---|---|---|---|---|---|---|',
    ...ALL_METRICS.map(
      (d) =>
        `| \`${d.key}\` | ${d.kind} | ${SCOPE[d.scope]} | \`${d.falcon}\` | \`${d.prom}\` | \`${d.otel}\` (\`${d.unit}\`) | ${d.source}${d.scope === 'agent' ? `: ${d.help}` : ''} |`,
    ),
  ].join('\n');
}
