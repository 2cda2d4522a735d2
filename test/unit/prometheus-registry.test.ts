// Points → Prometheus exposition (src/deliver/prometheus/registry.ts): names, types, labels, units,
// escaping, duplicates; every page also checked with the real `promtool check metrics` (the last
// block: skipped, loudly, only on a developer machine without promtool — helpers/env.ts).
import { Target } from '../../src/core/model';
import { ALL_METRICS, MetricDef, agentMetricDef, kernelPageSize, metricDef } from '../helpers/metrics';
import { Point, TARGET_LABEL_KEYS } from '../../src/deliver/points';
import { buildExposition, copyLabelNames, emptyExposition } from '../../src/deliver/prometheus/registry';
import { parseExposition, promtool, promtoolProblems } from '../helpers/promtool';
import { Metric, Registry } from 'prom-client';

const target = (netns: number, scope: Target['scope'], labels: Record<string, string> = {}): Target => ({
  netns, pid: netns % 1000, pidStart: 1, scope, containers: [], labels,
});
const def = (key: string): MetricDef => metricDef(key)!;
const pt = (d: MetricDef, value: number, t?: Target, labels: Record<string, string> = {}): Point => ({ def: d, value, target: t, labels });
const text = (points: Point[], copy: readonly string[] = []) => buildExposition(points, copyLabelNames(copy, ALL_METRICS), ALL_METRICS).registry.metrics();

const host = target(4026531840, 'host');
const web = target(4026532300, 'container', { container: 'web', container_id: '4e3eb141f15f', image: 'nginx:1', 'com.example.team': 'net' });

// The pages the tests below assert on; the last block runs each through promtool.
const exactPage = () =>
  text(
    [
      pt(agentMetricDef('cycle.collect_ms'), 7),
      pt(agentMetricDef('errors'), 1, undefined, { stage: 'collect' }),
      pt(def('tcp_active_opens'), 12, web),
      pt(def('tcp_mem_pages'), 142),
      pt(def('established'), 11, web),
      pt(def('established'), 0, host),
    ],
    ['com.example.team'],
  );
const emptyPage = () => emptyExposition().registry.metrics();
const catalogPage = () =>
  text(
    ALL_METRICS.map((d) =>
      d.scope === 'namespace' ? pt(d, 1, web) : d.scope === 'host' ? pt(d, 1) : pt(d, 1, undefined, d.key.startsWith('sink.') ? { sink: 'prometheus' } : {}),
    ),
    ['com.example.team'],
  );
const HOSTILE = [
  'quote " and \\" and \\',
  'line\nbreak\r\n and tab\t',
  'nul \u0000 and bell \u0007',
  'ünïcødé 容器 🚀',
  '}{,="} 1\n# TYPE evil counter\nevil_total 1',
  'x'.repeat(10_000),
];
const HOSTILE_COPY = ['com.docker/weird key!', '__reserved', '0day', 'netns', 'job'];
/** What a scraper receives for hostile label values and copied label keys. */
const hostilePage = async (): Promise<string> => {
  const points = HOSTILE.map((v, i) => pt(def('total'), i, target(100 + i, 'container', { container: v, image: v, [HOSTILE_COPY[i % HOSTILE_COPY.length]]: v })));
  points.push(pt(def('total'), 99, target(200, 'container', { container: 'lone \ud800 surrogate' })));
  return Buffer.from(await text(points, HOSTILE_COPY), 'utf8').toString('utf8');
};

describe('copy label names', () => {
  it.each<[string, string | undefined]>([
    ['team', 'team'],
    ['com.example/team-name', 'com_example_team_name'],
    ['1st', '_1st'],
    ['équipe', '_quipe'],
    ['', '_'],
    ['__meta', 'label___meta'],
    ['pod.uid', 'label_pod_uid'], // sanitises to a sockpulse label
    ['netns', 'label_netns'],
    ['job', 'label_job'], // Prometheus adds job and instance on scrape
    ['instance', 'label_instance'],
    ['image', undefined], // already a sockpulse label: discovery keeps one value under it
    ['scope', undefined],
  ])('%j → %j', (key, name) => {
    expect(copyLabelNames([key], ALL_METRICS).get(key)).toBe(name);
  });

  it('gives colliding keys distinct names, in configuration order', () => {
    expect([...copyLabelNames(['a.b', 'a_b', 'a-b', 'label_a_b', 'a.b'], ALL_METRICS)]).toEqual([
      ['a.b', 'a_b'], ['a_b', 'label_a_b'], ['a-b', 'label_a_b_2'], ['label_a_b', 'label_label_a_b'],
    ]);
  });
});

describe('buildExposition', () => {
  const empties = (except: Record<string, string>) =>
    TARGET_LABEL_KEYS.filter((k) => k !== 'scope').map((k) => `${k}="${except[k] ?? ''}"`).join(',');

  it('writes exact families: catalog order, HELP/TYPE, _total counters, base units, target labels', async () => {
    const webLabels = `scope="container",${empties({ container: 'web', container_id: '4e3eb141f15f', image: 'nginx:1' })},netns="4026532300",com_example_team="net"`;
    const hostLabels = `scope="host",${empties({})},netns="4026531840",com_example_team=""`;
    expect(await exactPage()).toBe(
      [
        '# HELP sockpulse_host_tcp_memory_bytes Memory used by TCP buffers, whole host (Falcon/StatsD: pages)',
        '# TYPE sockpulse_host_tcp_memory_bytes gauge',
        `sockpulse_host_tcp_memory_bytes ${142 * kernelPageSize()}`,
        '',
        '# HELP sockpulse_tcp_established TCP connections in ESTABLISHED (and CLOSE_WAIT since Linux 6.10), IPv4+IPv6',
        '# TYPE sockpulse_tcp_established gauge',
        `sockpulse_tcp_established{${webLabels}} 11`,
        `sockpulse_tcp_established{${hostLabels}} 0`,
        '',
        '# HELP sockpulse_tcp_active_opens_total Tcp ActiveOpens since the namespace was created',
        '# TYPE sockpulse_tcp_active_opens_total counter',
        `sockpulse_tcp_active_opens_total{${webLabels}} 12`,
        '',
        '# HELP sockpulse_agent_collect_duration_seconds Duration of the last collection stage',
        '# TYPE sockpulse_agent_collect_duration_seconds gauge',
        'sockpulse_agent_collect_duration_seconds 0.007',
        '',
        '# HELP sockpulse_agent_errors_total Errors by stage since start',
        '# TYPE sockpulse_agent_errors_total counter',
        'sockpulse_agent_errors_total{stage="collect"} 1',
        '',
      ].join('\n'),
    );
  });

  it('exposes exactly the points it is given: a family with no point has no HELP/TYPE lines', async () => {
    const out = await text([pt(def('udp'), 2, web)]);
    expect([...parseExposition(out).keys()]).toEqual(['sockpulse_udp_inuse']);
  });

  it('keeps the first of two points with the same name and labels, and counts the other', async () => {
    const e = buildExposition([pt(def('udp'), 2, web), pt(def('udp'), 5, { ...web, pid: 9 }), pt(def('udp'), 1, host)], new Map(), ALL_METRICS);
    expect(e).toMatchObject({ series: 2, duplicates: 1 });
    const s = parseExposition(await e.registry.metrics()).get('sockpulse_udp_inuse')!.samples;
    expect(s.map((x) => [x.labels.netns, x.value])).toEqual([['4026532300', '2'], ['4026531840', '1']]);
  });

  it('serves an empty page before the first cycle', async () => {
    expect((await emptyPage()).trim()).toBe('');
  });

  it('exposes every metric of the catalog: one family each, counters and only counters named _total', async () => {
    const fams = parseExposition(await catalogPage());
    expect(fams.size).toBe(ALL_METRICS.length);
    for (const [name, f] of fams) {
      expect(f.type === 'counter').toBe(name.endsWith('_total'));
      expect(name).toMatch(/^sockpulse_/);
    }
  });

  it('keeps hostile label values and names valid, and reads them back unchanged', async () => {
    const samples = parseExposition(await hostilePage()).get('sockpulse_sockets_used')!.samples;
    // A lone UTF-16 surrogate (possible in a JS string, not in UTF-8) arrives as U+FFFD.
    expect(samples.map((s) => s.labels.container)).toEqual([...HOSTILE, 'lone \ufffd surrogate']);
    expect(Object.keys(samples[0].labels)).toEqual([...TARGET_LABEL_KEYS, 'netns', 'com_docker_weird_key_', 'label___reserved', '_0day', 'label_netns', 'label_job']);
    expect(samples[1].labels.label___reserved).toBe(HOSTILE[1]);
  });
});

promtool().describe('promtool check metrics', () => {
  it.each<[string, () => Promise<string>]>([
    ['the exact families page', exactPage],
    ['the empty page', emptyPage],
    ['every metric of the catalog', catalogPage],
    ['hostile label values and copied label keys', hostilePage],
  ])('accepts %s', async (_name, page) => {
    expect(promtoolProblems(await page())).toEqual([]);
  });

  it('rejects a page it should (the check can fail): a counter without _total', () => {
    expect(promtoolProblems('# HELP sockpulse_x x\n# TYPE sockpulse_x counter\nsockpulse_x 1\n').join('\n')).toMatch(/_total/);
  });
});

describe('the exposition text', () => {
  it('is what prom-client\'s Registry writes for the same families, byte for byte', async () => {
    const hostile = ['plain', 'quote " and \\" and \\', 'line\nbreak\r\n', 'ünïcødé 🚀', '}{,="} 1\n# TYPE evil counter'];
    const values = [0, -0, 7, 0.1 + 0.2, 1e21, 1e-7, -3.5, NaN, Infinity, -Infinity];
    // Enough series for a page of several pieces (it is rendered ~32 K characters at a time).
    const points = Array.from({ length: 3000 }, (_, i) => pt(agentMetricDef('errors'), values[i % values.length], undefined, { stage: hostile[i % hostile.length], other: String(i) }));
    points.push(pt(agentMetricDef('targets'), 3));
    const page = buildExposition(points, copyLabelNames([], ALL_METRICS), ALL_METRICS).registry;
    const ours = await page.metrics();
    // The same families as prom-client constant metrics (what this module did before it wrote the text itself).
    const registry = new Registry();
    const family = (name: string, help: string, type: string, vals: { labels: Record<string, string>; value: number }[]) =>
      ({ name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: vals }), reset() {} }) as unknown as Metric;
    const targets = agentMetricDef('targets');
    const errors = agentMetricDef('errors');
    registry.registerMetric(family(targets.prom, targets.help, targets.kind, [{ labels: {}, value: 3 }]));
    registry.registerMetric(family(errors.prom, errors.help, errors.kind, points.slice(0, -1).map((p) => ({ labels: p.labels, value: p.value }))));
    expect(ours.length).toBeGreaterThan(100_000);
    expect(ours).toBe(await registry.metrics());
    expect([...page.chunks()].length).toBeGreaterThan(3); // rendered in pieces, which add up to the page
    expect(Buffer.concat([...page.chunks()]).toString('utf8')).toBe(ours);
    expect(await emptyExposition().registry.metrics()).toBe(await new Registry().metrics());
  });
});
