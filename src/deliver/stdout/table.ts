// Human-readable output: one line per network namespace, host first, '-' for absent values.
import { Batch, Target } from '../../core/model';
import { MetricDef } from '../../core/metrics';
import { CORE_STATS, hostWideKeys, hostWideValues, namespaceValues } from '../../core/stats';

const HEAD = ['NETNS', 'PID', 'SCOPE', 'ESTAB', 'INUSE', 'TW', 'ORPHAN', 'TOTAL', 'UDP', 'NAME'];

export function renderTable(batch: Batch, catalog: readonly MetricDef[]): string {
  const hostWide = hostWideValues(batch.results);
  const rows = batch.results.map((r) => {
    const v = namespaceValues(r);
    const stat = (k: string): string => String(v.get(k) ?? '-');
    return [String(r.target.netns), String(r.target.pid), r.target.scope, ...CORE_STATS.map(stat), displayName(r.target)];
  });
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  const hw = hostWideKeys(catalog).map((k) => `${k}=${hostWide.get(k) ?? '-'}`).join(' ');
  const c = batch.cycle;
  return [
    line(HEAD),
    ...rows.map(line),
    `# ${batch.host} ${new Date(batch.timestamp * 1000).toISOString()} discovery=${c.discovery} targets=${c.targets} ` +
      `skipped=${c.skipped} errors=${c.errors} discover=${c.discover_ms}ms collect=${c.collect_ms}ms`,
    `# host-wide (same in every namespace): ${hw}`,
    '',
  ].join('\n');
}

function displayName(t: Target): string {
  const l = t.labels;
  const pod = l.pod && l.namespace ? `${l.namespace}/${l.pod}` : undefined;
  // The host target has no labels of its own: its host-network containers / pods by name.
  const members = t.containers.map((c) => c.name || c.id.slice(0, 12)).join(',');
  const name = (pod ?? l.container ?? l.netns_name ?? members).replace(/[\x00-\x1f\x7f]/g, '?'); // a hostile container name cannot forge lines
  if (t.scope === 'host') return name ? `(host) ${name}` : '(host)';
  return name;
}
