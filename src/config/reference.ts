// The configuration reference in the README is generated from the schema, so it cannot drift:
// `npm run docs` writes it into the README (src/app/docs.ts).
import { SchemaLeaf, schemaLeaves } from './schema';

/** What the reference adds to the doc of a key marked `redact: 'url'` (core/secrets.ts). */
const REDACTED_URL = 'Its user, password, query values and fragment are masked wherever it is shown (logs, errors, --print-config).';

function formatName(f: unknown): string {
  if (Array.isArray(f)) return f.join(' \\| ');
  if (f === String) return 'string';
  if (f === Boolean) return 'boolean';
  return String(f);
}

function row(key: string, v: SchemaLeaf): string {
  const doc = v.redact === 'url' ? `${v.doc} ${REDACTED_URL}` : v.doc;
  return `| \`${key}\` | ${formatName(v.format)} | \`${JSON.stringify(v.default)}\` | ${v.env ? `\`${v.env}\`` : ''} | ${doc} |`;
}

export function configReference(): string {
  return ['| key | format | default | environment | meaning |', '|---|---|---|---|---|', ...schemaLeaves().map(([k, v]) => row(k, v))].join('\n');
}
