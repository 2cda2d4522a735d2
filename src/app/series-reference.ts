// The README's series reference (`max_series`): what each collector makes per namespace with its
// defaults, and its priority under the budget. Generated from the registry (see app/docs.ts).
import { AnyCollectorPlugin, DEFAULT_PRIORITY } from '../collect/collector';
import { COLLECTORS } from '../collect/registry';
import { AGENT_METRICS } from '../core/metrics';

const count = (c: AnyCollectorPlugin, scope: 'namespace' | 'host'): number => c.metrics.filter((d) => d.scope === scope).length;

export function seriesReference(collectors: readonly AnyCollectorPlugin[] = COLLECTORS): string {
  const rows = collectors.map((c) => {
    const ns = c.series?.namespace ?? String(count(c, 'namespace'));
    const host = c.series?.host ?? String(count(c, 'host'));
    return `| \`${c.name}\` | ${c.defaultEnabled ? 'on' : 'off'} | ${c.priority ?? DEFAULT_PRIORITY} | ${ns} | ${host} |`;
  });
  const on = collectors.filter((c) => c.defaultEnabled);
  const fixed = (scope: 'namespace' | 'host'): string => {
    const n = on.reduce((sum, c) => sum + Number.parseInt(c.series?.[scope] ?? String(count(c, scope)), 10), 0);
    return String(n);
  };
  return [
    '| collector | default | priority | series per namespace (the host\'s included) | series the host target adds (host-wide) |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `With the defaults on a current kernel: ${fixed('namespace')} series per namespace, plus ${fixed('host')} host-wide series once, plus the agent's own ` +
      `metrics (${AGENT_METRICS.length} kinds, some per stage, collector or sink). A cycle over N namespaces makes about ${fixed('namespace')} × N + ${fixed('host')} series ` +
      'before `max_series`; a series absent from the kernel (no IPv6, conntrack module not loaded) is not made and not counted. ' +
      'Over the budget, collectors are cut lowest priority first (ties: the later in this table first), container namespaces before the host, higher namespace inodes first.',
  ].join('\n');
}
