// The README's table of fields older kernels keep for the whole host (collect/kernel-scope.ts),
// generated so the table and the code that decides cannot disagree (see app/docs.ts).
import { NAMESPACED_SINCE } from '../collect/kernel-scope';

export function kernelScopeReference(): string {
  return [
    '| key | kernel field | per namespace since | before that | the change |',
    '|---|---|---|---|---|',
    ...NAMESPACED_SINCE.map(
      (b) => `| \`${b.key}\` | ${b.field} | Linux ${b.since.major}.${b.since.minor} | host-wide: once on the host target (\`host_wide.${b.key}\`), absent per container | ${b.change} |`,
    ),
  ].join('\n');
}
