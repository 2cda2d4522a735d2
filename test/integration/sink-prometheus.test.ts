// The Prometheus sink over real HTTP: batches from the fixture proc tree pipeline (and, as root,
// from real `unshare -n` namespaces), scraped from the real server and checked with promtool.
import { resolveSection, sinkContext } from '../helpers/sinks';
import { prometheus } from '../../src/deliver/prometheus/plugin';
import http from 'node:http';
import zlib from 'node:zlib';
import { Registry } from 'prom-client';
import { Agent } from '../../src/schedule/tick';
import { fixturePipeline } from '../helpers/pipeline';
import { CollectStage } from '../../src/collect/stage';
import { ProcfsDiscovery } from '../../src/discover/procfs';
import { createLogger } from '../../src/core/log';
import { Batch } from '../../src/core/model';
import { SelfStats } from '../../src/core/self-stats';
import { ALL_METRICS, kernelPageSize } from '../helpers/metrics';
import { TARGET_LABEL_KEYS } from '../../src/deliver/points';
import { PrometheusSink } from '../../src/deliver/prometheus/sink';
import { describeRoot } from '../helpers/env';
import { NetnsProc, spawnInNetns } from '../helpers/netns';
import { Family, parseExposition, promtool, promtoolProblems } from '../helpers/promtool';
import { expectedStats } from '../helpers/sockmix';
import golden from '../fixtures/golden/proctree.json';

const log = createLogger('silent');

const sinks: PrometheusSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

async function startSink(stats = new SelfStats(), over: { listen?: string; path?: string; copyLabels?: string[] } = {}): Promise<PrometheusSink> {
  const ctx = { ...sinkContext('prometheus', { log, stats, hostname: 'fixture-host', copyLabels: over.copyLabels ?? [] }), version: '0.0.0-test' };
  const sink = new PrometheusSink(resolveSection(prometheus, { enabled: true, listen: over.listen ?? '127.0.0.1:0', path: over.path ?? '/metrics' }), ctx);
  sinks.push(sink);
  await sink.start();
  return sink;
}

/** One cycle over the fixture tree (as test/unit/golden.test.ts), machine-dependent fields pinned. */
async function fixtureBatch(stats: SelfStats): Promise<Batch> {
  const agent = fixturePipeline({ log, stats });
  const { batch } = await agent.runCycle(new Date(1_700_000_059_000));
  batch.cycle.discover_ms = 0;
  batch.cycle.collect_ms = 7;
  return batch;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(sink: PrometheusSink, o: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {}): Promise<Reply> {
  const { port } = sink.address()!;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.path ?? '/metrics', headers: o.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** GET the page, require it to be promtool-clean, and read it. */
async function scrape(sink: PrometheusSink): Promise<Map<string, Family>> {
  const r = await request(sink);
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
  expect(promtoolProblems(r.body)).toEqual([]);
  return parseExposition(r.body.toString('utf8'));
}

/** netns → value of one family. */
const byNetns = (f: Family | undefined) => Object.fromEntries((f?.samples ?? []).map((s) => [s.labels.netns, Number(s.value)]));
const NS = { host: '4026531840', c300: '4026532300', pod400: '4026532400', ns500: '4026532500', c600: '4026532600' };

// Every page these tests read goes through promtool: without it they are skipped (helpers/env.ts).
promtool().describe('Prometheus sink: the fixture proc tree over HTTP', () => {
  it('serves exactly the fixture tree: series, values, labels, HELP/TYPE, _total counters, bytes', async () => {
    const stats = new SelfStats();
    const sink = await startSink(stats);
    const batch = await fixtureBatch(stats);
    const result = await sink.write(batch);
    const page = await scrape(sink);

    expect(byNetns(page.get('sockpulse_tcp_established'))).toEqual({ [NS.host]: 0, [NS.c300]: 11, [NS.pod400]: 0, [NS.ns500]: 11, [NS.c600]: 11 });
    expect(byNetns(page.get('sockpulse_tcp_inuse'))).toEqual({ [NS.host]: 1, [NS.c300]: 15, [NS.pod400]: 0, [NS.ns500]: 10 });
    expect(byNetns(page.get('sockpulse_tcp_timewait'))).toEqual({ [NS.host]: 0, [NS.c300]: 3, [NS.pod400]: 0, [NS.ns500]: 3 });
    expect(byNetns(page.get('sockpulse_sockets_used'))).toEqual({ [NS.host]: 35, [NS.c300]: 18, [NS.pod400]: 1, [NS.ns500]: 18, [NS.c600]: 3 });
    expect(byNetns(page.get('sockpulse_udp_inuse'))).toEqual({ [NS.host]: 0, [NS.c300]: 3, [NS.pod400]: 0, [NS.ns500]: 2 });
    // Host-wide: once, no labels; kernel pages in bytes.
    const hostWide = (name: string) => page.get(name)!.samples.map((s) => [s.labels, Number(s.value)]);
    expect(hostWide('sockpulse_host_tcp_orphans')).toEqual([[{}, 0]]);
    expect(hostWide('sockpulse_host_tcp_allocated')).toEqual([[{}, 1]]);
    expect(hostWide('sockpulse_host_tcp_memory_bytes')).toEqual([[{}, 142 * kernelPageSize()]]);
    expect(hostWide('sockpulse_host_udp_memory_bytes')).toEqual([[{}, 0]]);
    // Counters: what the reviewed golden JSON says, for every target, and nothing else.
    for (const [key, value] of Object.entries(golden.targets[0].counters)) {
      const want = Object.fromEntries(golden.targets.map((t) => [String(t.netns), (t.counters as Record<string, number>)[key]]));
      const prom = ALL_METRICS.find((d) => d.key === key)!.prom; // the protocols collector's names: old or Section_Field
      expect([key, byNetns(page.get(prom))]).toEqual([key, Object.fromEntries(Object.entries(want).filter(([, v]) => v !== undefined))]);
      expect(value).toBe(want[NS.host]);
    }
    // One label set per target: TARGET_LABEL_KEYS + netns, missing values "", no pid.
    const labels = page.get('sockpulse_sockets_used')!.samples.map((s) => s.labels);
    const empty = Object.fromEntries(TARGET_LABEL_KEYS.map((k) => [k, '']));
    expect(labels).toEqual([
      { ...empty, scope: 'host', netns: NS.host },
      { ...empty, scope: 'container', container_id: '4e3eb141f15f', netns: NS.c300 },
      { ...empty, scope: 'container', container_id: 'aaaaaaaaaaaa,bbbbbbbbbbbb', pod_uid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', netns: NS.pod400 },
      { ...empty, scope: 'netns', netns: NS.ns500 },
      { ...empty, scope: 'container', container_id: 'cccccccccccc', netns: NS.c600 },
    ]);
    // The agent's own series, with their own labels.
    const agent = (name: string) => page.get(name)!.samples.map((s) => [s.labels, Number(s.value)]);
    expect(agent('sockpulse_agent_cycles_total')).toEqual([[{}, 1]]);
    expect(agent('sockpulse_agent_errors_total')).toEqual([[{ stage: 'discover' }, 0], [{ stage: 'collect' }, 1], [{ stage: 'deliver' }, 0]]);
    expect(agent('sockpulse_agent_collect_duration_seconds')).toEqual([[{}, 0.007]]);
    expect(agent('sockpulse_agent_targets')).toEqual([[{}, 5]]);
    expect(agent('sockpulse_agent_sink_sent_total')).toEqual([[{ sink: 'prometheus' }, 0]]);
    // Every family: the catalog's HELP and kind, counters and only counters named *_total.
    const defs = new Map(ALL_METRICS.map((d) => [d.prom, d]));
    for (const [name, f] of page) {
      expect([name, f.help, f.type]).toEqual([name, defs.get(name)!.help, defs.get(name)!.kind]);
      expect([name, f.type === 'counter']).toEqual([name, name.endsWith('_total')]);
    }
    expect(page.has('sockpulse_agent_deliver_duration_seconds')).toBe(false); // null before a delivery
    const series = [...page.values()].reduce((n, f) => n + f.samples.length, 0);
    expect(result).toEqual({ status: 'ok', sent: series });
    // A GET scrape counts what it served; HEAD does not.
    await request(sink, { method: 'HEAD' });
    expect(stats.sink('prometheus')).toMatchObject({ sent: series, last_success: expect.any(Number) });
  });

  it('drops a target missing from the next batch: no stale series', async () => {
    const stats = new SelfStats();
    const sink = await startSink(stats);
    const batch = await fixtureBatch(stats);
    await sink.write(batch);
    const before = await scrape(sink);
    expect(byNetns(before.get('sockpulse_tcp_established'))).toHaveProperty(NS.c300, 11);

    await sink.write({ ...batch, results: batch.results.filter((r) => r.target.pid !== 300) });
    const after = await scrape(sink);
    const all = [...after.values()].flatMap((f) => f.samples);
    expect(all.filter((s) => s.labels.netns === NS.c300)).toEqual([]);
    expect(Object.keys(byNetns(after.get('sockpulse_tcp_established'))).sort()).toEqual([NS.host, NS.pod400, NS.ns500, NS.c600]);
    expect(Object.keys(byNetns(after.get('sockpulse_tcp_active_opens_total')))).toHaveLength(4);

    await sink.write({ ...batch, results: [] }); // every namespace gone: only the agent's series
    expect([...(await scrape(sink)).keys()].every((n) => n.startsWith('sockpulse_agent_'))).toBe(true);
  });

  it('keeps the page valid with hostile container names and copied Docker labels', async () => {
    const hostile = ['a "quoted" \\ back\\slash', 'new\nline\r\n# TYPE x counter\nx_total 1', 'ünïcødé 容器 🚀 \u0000', 'x'.repeat(10_000)];
    const copy = ['com.example/team name', '__meta', 'netns', '0day'];
    const stats = new SelfStats();
    const sink = await startSink(stats, { copyLabels: copy });
    const batch = await fixtureBatch(stats);
    batch.results.forEach((r, i) => {
      if (r.target.scope === 'host') return;
      const v = hostile[i % hostile.length];
      r.target.labels = { ...r.target.labels, container: v, image: v, pod: v, ...Object.fromEntries(copy.map((k) => [k, v])) };
    });
    await sink.write(batch);
    const samples = (await scrape(sink)).get('sockpulse_sockets_used')!.samples.slice(1);
    expect(samples.map((s) => s.labels.container)).toEqual(batch.results.slice(1).map((r) => r.target.labels.container));
    for (const s of samples) {
      expect(s.labels).toMatchObject({ com_example_team_name: s.labels.pod, label___meta: s.labels.pod, label_netns: s.labels.pod, _0day: s.labels.image });
      expect(s.labels.netns).toMatch(/^\d+$/);
    }
  });
});

describe('Prometheus sink: HTTP', () => {
  promtool().it('serves a valid empty page before the first cycle', async () => {
    const r = await request(await startSink());
    expect([r.status, r.headers['content-type'], r.body.toString().trim()]).toEqual([200, Registry.PROMETHEUS_CONTENT_TYPE, '']);
    expect(promtoolProblems(r.body)).toEqual([]);
  });

  it('answers GET and HEAD on the path only: 404 elsewhere, 405 for other methods', async () => {
    const stats = new SelfStats();
    const sink = await startSink(stats);
    await sink.write(await fixtureBatch(stats));
    const get = await request(sink);
    const head = await request(sink, { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, String(get.body.length), 0]);
    expect((await request(sink, { path: '/metrics?x=1' })).body).toEqual(get.body);
    for (const p of ['/metric', '/metrics/', '/nope', '//metrics']) expect([p, (await request(sink, { path: p })).status]).toEqual([p, 404]);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await request(sink, { method, body: method === 'POST' ? 'x=1' : undefined });
      expect([method, r.status, r.headers.allow]).toEqual([method, 405, 'GET, HEAD']);
    }
    const home = await request(sink, { path: '/' });
    expect([home.status, home.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    expect(home.body.toString()).toContain('<a href="/metrics">');
  });

  it('serves a configured path, and gzip when asked', async () => {
    const stats = new SelfStats();
    const sink = await startSink(stats, { path: '/prom/metrics' });
    await sink.write(await fixtureBatch(stats));
    expect((await request(sink)).status).toBe(404);
    const plain = await request(sink, { path: '/prom/metrics' });
    const zipped = await request(sink, { path: '/prom/metrics', headers: { 'accept-encoding': 'gzip' } });
    expect([zipped.status, zipped.headers['content-encoding'], zipped.headers.vary]).toEqual([200, 'gzip', 'Accept-Encoding']);
    expect(zlib.gunzipSync(zipped.body).toString()).toBe(plain.body.toString());
    expect(plain.body.toString()).toContain('sockpulse_tcp_established{');
  });

  it('bounds requests: oversized headers get 431, a request body closes the connection', async () => {
    const sink = await startSink();
    expect((await request(sink, { headers: { 'x-big': 'a'.repeat(10_000) } })).status).toBe(431);
    const r = await request(sink, { method: 'GET', body: 'y'.repeat(1000), headers: { 'content-length': 1000 } });
    expect([r.status, r.headers.connection]).toEqual([200, 'close']);
  });

  it('fails start() clearly when the address is taken or not local', async () => {
    const first = await startSink();
    const { port } = first.address()!;
    const taken = startSink(new SelfStats(), { listen: `127.0.0.1:${port}` });
    await expect(taken).rejects.toThrow(`prometheus: cannot listen on 127.0.0.1:${port} (sinks.prometheus.listen): listen EADDRINUSE`);
    await expect(taken).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(startSink(new SelfStats(), { listen: '192.0.2.1:0' })).rejects.toMatchObject({
      code: 'EADDRNOTAVAIL',
      message: expect.stringContaining('cannot listen on 192.0.2.1:0'),
    });
  });

  it('rejects a bad listen address or path when the configuration is resolved, naming the key', () => {
    const make = (listen: string, p = '/metrics') => () => resolveSection(prometheus, { enabled: true, listen, path: p });
    for (const bad of ['9477', '127.0.0.1', '127.0.0.1:', '127.0.0.1:99999', '::1:9477', 'host:port']) {
      expect(make(bad)).toThrow(`sinks.prometheus.listen: "${bad}" is not host:port`);
    }
    for (const good of ['127.0.0.1:9477', '[::1]:9477', ':9477', 'localhost:0']) expect(make(good)).not.toThrow();
    expect(make('127.0.0.1:0', 'metrics')).toThrow('sinks.prometheus.path: "metrics" must start with "/"');
  });

  it('close() stops the server, also with a keep-alive connection open', async () => {
    const sink = await startSink();
    const { port } = sink.address()!;
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => http.get({ port, host: '127.0.0.1', path: '/metrics', agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    const t0 = Date.now();
    await sink.close();
    expect(Date.now() - t0).toBeLessThan(900);
    agent.destroy();
    await expect(request({ address: () => ({ port }) } as unknown as PrometheusSink)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await sink.write(await fixtureBatch(new SelfStats()))).toMatchObject({ status: 'failed' });
    await sink.close(); // idempotent
  });
});

// Root, so promtool is there (or the suite fails).
describeRoot('Prometheus sink: real network namespaces', () => {
  const procs: NetnsProc[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
  });

  it('exposes each namespace with the kernel\'s numbers, and forgets one that is gone', async () => {
    const mixes = [{ estab4: 3, udp4: 2, unix: 1 }, { listen4: 2, listen6: 1, timewait4: 1 }];
    for (const m of mixes) procs.push(await spawnInNetns(m));
    const stats = new SelfStats();
    const sink = await startSink(stats);
    const agent = new Agent({
      discovery: new ProcfsDiscovery({ procRoot: '/proc', copyLabels: [], filter: () => true, hasIncludeFilter: false }),
      collect: new CollectStage('/proc'),
      sinks: [sink],
      log,
      hostname: 'test',
      interval: { period: 60, fixed: true },
      cycleTimeoutMs: 10_000,
      stats,
    });
    const cycle = await agent.runCycle();
    expect(cycle.deliveries.map((d) => d.result.status)).toEqual(['ok']);

    let page = await scrape(sink);
    const names = { established: 'sockpulse_tcp_established', inuse: 'sockpulse_tcp_inuse', timewait: 'sockpulse_tcp_timewait', total: 'sockpulse_sockets_used', udp: 'sockpulse_udp_inuse' } as const;
    procs.forEach((p, i) => {
      const e = expectedStats(mixes[i], 'netns');
      const got = Object.fromEntries(Object.entries(names).map(([k, n]) => [k, byNetns(page.get(n))[String(p.netnsInode)]]));
      expect(got).toEqual({ established: e.established, inuse: e.inuse, timewait: e.timewait, total: e.total, udp: e.udp });
      const s = page.get('sockpulse_sockets_used')!.samples.find((x) => x.labels.netns === String(p.netnsInode))!;
      expect(s.labels.scope).toBe('netns');
    });
    expect(byNetns(page.get('sockpulse_tcp_active_opens_total'))[String(procs[0].netnsInode)]).toBe(3);
    expect(page.get('sockpulse_sockets_used')!.samples.filter((s) => s.labels.scope === 'host')).toHaveLength(1);

    await procs[1].kill();
    await agent.runCycle();
    page = await scrape(sink);
    const gone = String(procs[1].netnsInode);
    expect([...page.values()].flatMap((f) => f.samples).filter((s) => s.labels.netns === gone)).toEqual([]);
    expect(byNetns(page.get('sockpulse_sockets_used'))).toHaveProperty(String(procs[0].netnsInode));
  });
});
