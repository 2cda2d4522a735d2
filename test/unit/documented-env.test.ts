// Every SOCKPULSE_* variable the documentation, the deploy files and the unit's environment file
// name is one the configuration schema declares (assembled from the registries): a renamed or
// invented name cannot linger in a README.
import * as fs from 'fs';
import * as path from 'path';
import { schemaLeaves } from '../../src/config/schema';

const ROOT = path.join(__dirname, '..', '..');
const PLACES = ['README.md', 'SOAK.md', 'BENCHMARKS.md', 'deploy', 'systemd', 'config', 'scripts'];

function files(p: string): string[] {
  const full = path.join(ROOT, p);
  if (!fs.existsSync(full)) return [];
  if (fs.statSync(full).isFile()) return [full];
  return fs.readdirSync(full).flatMap((n) => files(path.join(p, n)));
}

test('documented SOCKPULSE_* variables exist', () => {
  const known = new Set(schemaLeaves().map(([, v]) => v.env));
  const unknown: string[] = [];
  for (const f of PLACES.flatMap(files)) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/\bSOCKPULSE_[A-Z0-9_]+\b/g)) {
      if (!known.has(m[0])) unknown.push(`${path.relative(ROOT, f)}: ${m[0]}`);
    }
  }
  expect(unknown).toEqual([]);
});
