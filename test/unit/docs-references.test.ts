// What the docs and comments point to exists. Every SOCKPULSE_* variable the shipped
// documentation and deployment files name is one the configuration reads (config/schema.ts): a
// misspelt name is silently ignored by users' deployments. Every Markdown file a comment in src/
// names is in the repository (design notes kept elsewhere are no help to a reader of the code).
import * as fs from 'fs';
import * as path from 'path';
import { schemaLeaves } from '../../src/config/schema';

const ROOT = path.resolve(__dirname, '../..');
/** What users read and deploy from (test/ and bench/ have variables of their own). */
const SHIPPED = ['README.md', 'SOAK.md', 'BENCHMARKS.md', 'deploy', 'systemd', 'config', 'scripts'];

function files(rel: string): string[] {
  const abs = path.join(ROOT, rel);
  if (!fs.statSync(abs).isDirectory()) return [rel];
  return fs.readdirSync(abs).flatMap((n) => files(path.join(rel, n)));
}

describe('environment variable names in the shipped docs and deploy files', () => {
  const known = new Set(schemaLeaves().flatMap(([, leaf]) => (leaf.env ? [leaf.env] : [])));
  const named = SHIPPED.flatMap(files).flatMap((f) =>
    [...fs.readFileSync(path.join(ROOT, f), 'utf8').matchAll(/\bSOCKPULSE_[A-Z0-9_]+\b/g)].map((m) => `${m[0]} (${f})`),
  );

  it('finds some (the scan works)', () => {
    expect(named.length).toBeGreaterThan(10);
  });

  it('names only variables the configuration reads', () => {
    expect(named.filter((n) => !known.has(n.split(' ')[0]))).toEqual([]);
  });
});

describe('Markdown files named in comments under src/', () => {
  const named = files('src').flatMap((f) =>
    [...fs.readFileSync(path.join(ROOT, f), 'utf8').matchAll(/[\w./-]+\.md\b|style(?:\.md)? habit \d+/g)].map((m) => [f, m[0]] as const),
  );

  it('are in the repository (at its root or beside the file)', () => {
    const exists = ([f, ref]: readonly [string, string]) => fs.existsSync(path.join(ROOT, ref)) || fs.existsSync(path.join(ROOT, path.dirname(f), ref));
    expect(named.filter((n) => !exists(n)).map(([f, ref]) => `${f}: ${ref}`)).toEqual([]);
  });
});
