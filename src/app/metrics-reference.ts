// The metric reference in the README, generated from the catalog (see app/docs.ts).
import { MetricDef } from '../core/metrics';
import { COLLECTORS, catalog } from '../collect/registry';

const SCOPE: Record<MetricDef['scope'], string> = {
  namespace: 'per namespace',
  host: 'host-wide (host only)',
  agent: 'sockpulse itself',
};

const row = (d: MetricDef, note = ''): string =>
  `| \`${d.key}\` | ${d.kind} | ${SCOPE[d.scope]} | \`${d.falcon}\` | ${d.agent ? `\`${d.agent}\`` : ''} | \`${d.prom}\` | \`${d.otel}\` (\`${d.unit}\`) | ${d.source}${d.scope === 'agent' ? `: ${d.help}` : ''}${note} |`;

/** The catalog (a selecting collector's default selection among it), then each family's naming rule. */
export function metricsReference(): string {
  const families = COLLECTORS.flatMap((c) => (c.families ?? []).map((f) => row(f, `. ${f.help}; the rows above marked (default) are its default selection`)));
  return [
    '| key | type | scope | Open-Falcon / StatsD (after the prefix) | Open-Falcon `naming: agent` | Prometheus | OTLP (unit) | source |',
    '|---|---|---|---|---|---|---|---|',
    ...catalog().map((d) => row(d, d.family ? ' (default)' : '')),
    ...families,
  ].join('\n');
}
