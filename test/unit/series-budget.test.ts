// The max_series budget: exactly the excess goes, lowest priority first, deterministically
// (the same input always loses the same series, whatever order the targets came in), counted per
// collector; the agent logs it once and counts it in its self-metrics.
import { applySeriesBudget } from '../../src/collect/series-budget';
import { CollectStage, activeCollector } from '../../src/collect/stage';
import { CollectorPlugin } from '../../src/collect/collector';
import { MetricDef, hostGauge, namespaceGauge } from '../../src/core/metrics';
import { Target, TargetSamples } from '../../src/core/model';
import { Agent } from '../../src/schedule/tick';
import { Logger } from '../../src/core/log';
import { batchPoints } from '../../src/deliver/points';
import { makeProcTree } from '../helpers/proc-tree';

const gauge = (key: string): MetricDef => namespaceGauge({ key, falcon: key, prom: key, otel: key, unit: '1', help: key, source: 'test' });
const a1 = gauge('a1');
const a2 = gauge('a2');
const b1 = gauge('b1');
const hw = hostGauge({ key: 'hw', falcon: 'hw', prom: 'hw', otel: 'hw', unit: '1', help: 'hw', source: 'test' });
const A = { name: 'a', priority: 90, declared: new Set([a1, a2, hw]) };
const B = { name: 'b', priority: 10, declared: new Set([b1]) };

const target = (netns: number, scope: Target['scope'] = 'container'): Target => ({ netns, pid: netns, pidStart: 1, scope, containers: [], labels: {} });
function results(order: number[] = [1, 2, 3]): TargetSamples[] {
  const all: Record<number, TargetSamples> = {
    1: { target: target(100, 'host'), samples: [{ def: a1, value: 1 }, { def: a2, value: 2 }, { def: hw, value: 9 }, { def: b1, value: 3 }] },
    2: { target: target(200), samples: [{ def: a1, value: 4 }, { def: a2, value: 5 }, { def: b1, value: 6 }] },
    3: { target: target(300), samples: [{ def: a1, value: 7 }, { def: a2, value: 8 }, { def: b1, value: 9 }] },
  };
  return order.map((i) => ({ target: all[i].target, samples: all[i].samples.map((s) => ({ ...s })) }));
}
const keys = (rs: TargetSamples[]): string[] => rs.flatMap((r) => r.samples.map((s) => `${r.target.netns}:${s.def.key}`)).sort();

describe('applySeriesBudget', () => {
  it('0 means no limit: counts, drops nothing', () => {
    const rs = results();
    expect(applySeriesBudget(rs, [A, B], 0)).toEqual({ series: { a: 7, b: 3 }, dropped: { a: 0, b: 0 } });
    expect(keys(rs)).toHaveLength(10);
  });

  it('at or under the budget drops nothing', () => {
    expect(applySeriesBudget(results(), [A, B], 10).dropped).toEqual({ a: 0, b: 0 });
  });

  it('drops exactly the excess from the lowest priority, containers (higher inode first) before the host', () => {
    const rs = results();
    expect(applySeriesBudget(rs, [A, B], 8)).toEqual({ series: { a: 7, b: 3 }, dropped: { a: 0, b: 2 } });
    expect(keys(rs).filter((k) => k.endsWith(':b1'))).toEqual(['100:b1']);
  });

  it('moves on to the next priority when the lowest is used up, and removes targets left empty', () => {
    const rs = results();
    expect(applySeriesBudget(rs, [A, B], 3)).toEqual({ series: { a: 7, b: 3 }, dropped: { a: 4, b: 3 } });
    expect(keys(rs)).toEqual(['100:a1', '100:a2', '100:hw']);
    expect(rs.map((r) => r.target.netns)).toEqual([100]);
  });

  it('counts and drops a generated family member (protocols) as its family\'s collector\'s', () => {
    const member = { ...gauge('netstat_tcpext_x'), family: 'netstat' };
    const P = { name: 'p', priority: 5, declared: new Set<MetricDef>(), families: new Set(['netstat']) };
    const rs = results();
    rs[1].samples.push({ def: member, value: 1 });
    rs[2].samples.push({ def: member, value: 2 });
    expect(applySeriesBudget(rs, [A, B, P], 11)).toEqual({ series: { a: 7, b: 3, p: 2 }, dropped: { a: 0, b: 0, p: 1 } });
    expect(keys(rs).filter((k) => k.endsWith(':netstat_tcpext_x'))).toEqual(['200:netstat_tcpext_x']);
  });

  it('is deterministic whatever order the targets come in', () => {
    const a = results([1, 2, 3]);
    const b = results([3, 1, 2]);
    applySeriesBudget(a, [A, B], 5);
    applySeriesBudget(b, [A, B], 5);
    expect(keys(a)).toEqual(keys(b));
    expect(keys(a)).toEqual(['100:a1', '100:a2', '100:hw', '200:a1', '200:a2']); // 300 (the higher inode) lost all of a's before 200 lost any
  });

  it('equal priorities: the later collector loses first', () => {
    const rs = results();
    applySeriesBudget(rs, [{ ...A, priority: 10 }, B], 9);
    expect(keys(rs).filter((k) => k.endsWith(':b1'))).toHaveLength(2);
  });
});

describe('the budget in the collect stage and the agent', () => {
  const one = gauge('one');
  const two = gauge('two');
  const plugin = (name: string, def: MetricDef, priority: number): CollectorPlugin<void> => ({
    name, doc: name, defaultEnabled: true, priority, metrics: [def], create: () => ({ collect: () => [{ def, value: 1 }] }),
  });
  const tree = makeProcTree([1, 2, 3].map((i) => ({ pid: 300 + i, netns: 4026532300 + i, scope: 'container' as const, net: { sockstat: 'sockets: used 1\n' } })));
  afterAll(() => tree.remove());

  it('logs each collector notice once, with the collector\'s name', async () => {
    const said = ['conntrack module not loaded'];
    const talker: CollectorPlugin<void> = { ...plugin('talker', one, 50), create: () => ({ collect: () => [], takeNotices: () => said.splice(0) }) };
    const infos: unknown[][] = [];
    const log = { warn: () => undefined, info: (...a: unknown[]) => infos.push(a), debug: () => undefined, error: () => undefined } as unknown as Logger;
    const agent = new Agent({
      discovery: { name: 'fixed', discover: async () => ({ targets: tree.targets, errors: [], source: 'fixed', skipped: 0 }) },
      collect: new CollectStage(tree.dir, [activeCollector(talker)]), sinks: [], log, hostname: 'h', interval: { period: 60, fixed: true }, cycleTimeoutMs: 5000,
    });
    await agent.runCycle(new Date(0));
    await agent.runCycle(new Date(60_000));
    expect(infos).toEqual([[{ collector: 'talker' }, 'conntrack module not loaded']]);
    await agent.close();
  });

  it('drops, counts in the cycle and the self-metrics, and logs once', async () => {
    const stage = new CollectStage(tree.dir, [activeCollector(plugin('high', one, 80)), activeCollector(plugin('low', two, 20))], 4);
    const warnings: unknown[][] = [];
    const log = { warn: (...a: unknown[]) => warnings.push(a), info: () => undefined, debug: () => undefined, error: () => undefined } as unknown as Logger;
    const agent = new Agent({
      discovery: { name: 'fixed', discover: async () => ({ targets: tree.targets, errors: [], source: 'fixed', skipped: 0 }) },
      collect: stage, sinks: [], log, hostname: 'h', interval: { period: 60, fixed: true }, cycleTimeoutMs: 5000,
    });
    const first = (await agent.runCycle(new Date(0))).batch;
    expect(first.cycle.collectors).toMatchObject({ high: { series: 3, dropped: 0 }, low: { series: 3, dropped: 2 } });
    expect(first.results.flatMap((r) => r.samples.map((s) => `${r.target.netns}:${s.def.key}`)).sort()).toEqual(['4026532301:one', '4026532301:two', '4026532302:one', '4026532303:one']);
    const second = (await agent.runCycle(new Date(60_000))).batch;
    expect(second.self.collector_series_dropped).toEqual({ high: 0, low: 4 });
    const points = batchPoints(second).filter((p) => p.def.key.startsWith('collector.series'));
    expect(points.map((p) => [p.def.key, p.labels.collector, p.value])).toEqual([
      ['collector.series', 'high', 3],
      ['collector.series', 'low', 3],
      ['collector.series_dropped', 'high', 0],
      ['collector.series_dropped', 'low', 4],
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0][0]).toEqual({ made: 6, dropped: { low: 2 } });
    await agent.close();
  });
});
