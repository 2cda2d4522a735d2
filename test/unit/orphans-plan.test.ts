// The orphans collector's plan over a fixture proc root of real kernel text
// (test/fixtures/proctree-orphans/README.md): the host-wide count is 5, all in namespace 10.
import * as path from 'path';
import { CollectStage, activeCollector } from '../../src/collect/stage';
import { orphans } from '../../src/collect/orphans';
import { Target } from '../../src/core/model';

const ROOT = path.join(__dirname, '..', 'fixtures', 'proctree-orphans');
const target = (pid: number, netns: number, scope: Target['scope'] = 'netns'): Target => ({ netns, pid, pidStart: 1, scope, containers: [], labels: {} });
const TARGETS = [target(1, 4026531840, 'host'), target(20, 4026532020), target(30, 4026532030), target(10, 4026532010)];

function orphanOf(out: ReturnType<CollectStage['run']>): Record<number, number | undefined> {
  return Object.fromEntries(out.results.map((r) => [r.target.pid, r.samples.find((s) => s.def.key === 'orphan' && s.def.scope === 'namespace')?.value]));
}

describe('orphans plan', () => {
  it('reads the likeliest namespace first and proves the unread ones 0 once the host-wide count is found', () => {
    const stage = new CollectStage(ROOT, [activeCollector(orphans, { budgetMs: 10_000 })]);
    const out = stage.run(TARGETS);
    // 30 has no socket tables: had the plan read them, it would not be 0 but skipped.
    expect(out.skipped).toEqual([]);
    expect(out.errors).toEqual([]);
    expect(orphanOf(out)).toEqual({ 1: 0, 20: 0, 30: 0, 10: 5 });
    expect(out.collectors.orphans).toMatchObject({ errors: 0, unresolved: 0 });
    stage.close();
  });

  it('gives no value, and counts the namespaces unresolved, when the budget allows no read', () => {
    const stage = new CollectStage(ROOT, [activeCollector(orphans, { budgetMs: 0 })]);
    const out = stage.run(TARGETS);
    expect(out.results).toEqual([]); // absent, not 0
    expect(out.collectors.orphans).toMatchObject({ errors: 0, unresolved: 4 });
    stage.close();
  });

  it('the host target reports its own namespace\'s count, not the host-wide one', () => {
    const stage = new CollectStage(ROOT, [activeCollector(orphans, { budgetMs: 10_000 })]);
    const out = stage.run([TARGETS[0], TARGETS[3]]);
    expect(orphanOf(out)).toEqual({ 1: 0, 10: 5 });
    stage.close();
  });
});
