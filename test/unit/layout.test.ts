// The tree shows the architecture (README "Development"): dependencies run one way — the entry
// point → app → schedule → discover / collect / deliver → core (and procfs, the kernel readers);
// config reads the registries and is read only by app. No import circles, no loose files at the
// top of src/ beyond the entry point, and every folder says in a header what lives there.
import * as fs from 'fs';
import * as path from 'path';

const SRC = path.join(__dirname, '..', '..', 'src');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Imports of a file (static, require, dynamic, `import type` too), as repository-relative files. */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|require\(|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => {
    const base = path.resolve(path.dirname(file), s);
    return fs.existsSync(`${base}.ts`) ? `${base}.ts` : path.join(base, 'index.ts');
  });
}

const rel = (f: string): string => path.relative(SRC, f);
const top = (f: string): string => rel(f).split(path.sep)[0];
const all = files(SRC);
const graph = new Map(all.map((f) => [f, imports(f)]));

/** Which top-level folders each may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  'main.ts': ['app'],
  app: ['config', 'schedule', 'discover', 'collect', 'deliver', 'core', 'procfs'],
  config: ['schedule', 'discover', 'collect', 'deliver', 'core'],
  schedule: ['discover', 'collect', 'deliver', 'core'],
  discover: ['core', 'procfs'],
  collect: ['core', 'procfs'],
  deliver: ['core'],
  procfs: [],
  core: [],
};

describe('source layout', () => {
  it('holds only the entry point at the top of src/, and known folders', () => {
    expect(fs.readdirSync(SRC).sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('every import exists and points one way', () => {
    const bad: string[] = [];
    for (const [f, deps] of graph) {
      for (const d of deps) {
        if (!fs.existsSync(d)) bad.push(`${rel(f)} imports missing ${rel(d)}`);
        else if (top(d) !== top(f) && !ALLOWED[top(f)].includes(top(d))) bad.push(`${rel(f)} → ${rel(d)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('has no import circle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const walk = (f: string, trail: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map(rel).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const d of graph.get(f) ?? []) walk(d, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of all) walk(f, []);
    expect(cycles).toEqual([]);
  });

  it('every folder has a README saying what lives there and who may import it', () => {
    const dirs = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    for (const d of dirs) {
      const readme = path.join(SRC, d, 'README.md');
      expect([d, fs.existsSync(readme)]).toEqual([d, true]);
      expect(fs.readFileSync(readme, 'utf8')).toMatch(/may import|imported by/i);
    }
  });
});
