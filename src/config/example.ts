// The example configuration (config/sockpulse.example.yaml), generated from the schema by
// `npm run docs`, so it shows every key of every registered plugin with its default and meaning.
import { SectionSchema } from '../core/config-section';
import { buildSchema, isKey } from './schema';

const HEAD = `# sockpulse configuration (YAML or JSON). Every key is optional; the values below are the
# defaults. Precedence: defaults < this file < environment (SOCKPULSE_*, DOCKER_*, OTEL_*) < flags.
# Unknown keys are rejected at start (exit code 2) with the key's name. Generated from the schema
# (npm run docs): the configuration reference in README.md says the same.
`;

function wrap(text: string, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + 2 + line.length + 1 + word.length > 100) {
      out.push(`${indent}# ${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(`${indent}# ${line}`);
  return out;
}

function section(node: SectionSchema, depth: number): string[] {
  const indent = '  '.repeat(depth);
  const out: string[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (isKey(v)) {
      out.push(...wrap(`${v.doc}${v.env ? ` (${v.env})` : ''}`, indent), `${indent}${k}: ${JSON.stringify(v.default)}`);
    } else {
      if (depth === 0) out.push('');
      out.push(`${indent}${k}:`, ...section(v, depth + 1));
    }
  }
  return out;
}

export function exampleConfig(schema: SectionSchema = buildSchema()): string {
  return `${HEAD}\n${section(schema, 0).join('\n')}\n`;
}
