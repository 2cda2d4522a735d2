// Generated documentation: the README's configuration and metric references and the example
// configuration, all from the registries. `npm run docs` rewrites them, and unit tests check the
// files hold exactly what the code generates, so they cannot drift.
import * as fs from 'fs';
import * as path from 'path';
import { configReference } from '../config/reference';
import { exampleConfig } from '../config/example';
import { metricsReference } from './metrics-reference';
import { seriesReference } from './series-reference';
import { kernelScopeReference } from './kernel-scope-reference';
import { clickhouseTablesReference } from './clickhouse-reference';
import { packageRoot } from './package-root';

export const README = path.join(packageRoot(), 'README.md');
export const EXAMPLE_CONFIG = path.join(packageRoot(), 'config', 'sockpulse.example.yaml');

export const SECTIONS: Record<string, () => string> = {
  'config-reference': configReference,
  'metrics-reference': metricsReference,
  'series-reference': seriesReference,
  'kernel-scope': kernelScopeReference,
  'clickhouse-tables': clickhouseTablesReference,
};

export function section(text: string, name: string): string | undefined {
  return new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(text)?.[1];
}

export function writeSections(file: string): void {
  let text = fs.readFileSync(file, 'utf8');
  for (const [name, gen] of Object.entries(SECTIONS)) {
    if (section(text, name) === undefined) throw new Error(`${file} has no <!-- ${name}:start --> section`);
    text = text.replace(new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(\\n<!-- ${name}:end -->)`), (_m, a: string, b: string) => `${a}${gen()}${b}`);
  }
  fs.writeFileSync(file, text);
}

if (require.main === module) {
  writeSections(README);
  fs.writeFileSync(EXAMPLE_CONFIG, exampleConfig());
}
