// The metric reference in the README, generated from the catalog (see app/docs.ts).
import { MetricDef } from '../core/metrics';
import { catalog } from '../collect/registry';

const SCOPE: Record<MetricDef['scope'], string> = {
  namespace: 'per namespace',
  host: 'host-wide (host only)',
  agent: 'sockpulse itself',
};

export function metricsReference(): string {
  return [
    '| key | type | scope | Open-Falcon / StatsD (after the prefix) | Prometheus | OTLP (unit) | source |',
    '|---|---|---|---|---|---|---|',
    ...catalog().map(
      (d) =>
        `| \`${d.key}\` | ${d.kind} | ${SCOPE[d.scope]} | \`${d.falcon}\` | \`${d.prom}\` | \`${d.otel}\` (\`${d.unit}\`) | ${d.source}${d.scope === 'agent' ? `: ${d.help}` : ''} |`,
    ),
  ].join('\n');
}
