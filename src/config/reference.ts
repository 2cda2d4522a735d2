// The configuration reference in the README is generated from the schema, so it cannot drift:
// `npm run docs` writes it into the README (src/docs.ts).
import { schema } from './schema';

interface Leaf {
  doc: string;
  format: unknown;
  default: unknown;
  env?: string;
}

function isLeaf(v: unknown): v is Leaf {
  return typeof v === 'object' && v !== null && 'doc' in v && 'default' in v;
}

function formatName(f: unknown): string {
  if (Array.isArray(f)) return f.join(' \\| ');
  if (f === String) return 'string';
  if (f === Boolean) return 'boolean';
  return String(f);
}

function rows(node: Record<string, unknown>, prefix: string): string[] {
  return Object.entries(node).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    if (!isLeaf(v)) return rows(v as Record<string, unknown>, key);
    const def = JSON.stringify(v.default);
    return [`| \`${key}\` | ${formatName(v.format)} | \`${def}\` | ${v.env ? `\`${v.env}\`` : ''} | ${v.doc} |`];
  });
}

export function configReference(): string {
  return ['| key | format | default | environment | meaning |', '|---|---|---|---|---|', ...rows(schema, '')].join('\n');
}
