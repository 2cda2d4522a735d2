// The OTLP sink end to end on real batches: the procfs pipeline over a copy of the fixture proc
// tree (test/fixtures/proctree/README.md), which the tests change between cycles (a counter
// grows, a container vanishes).
// - http/protobuf into a real VictoriaMetrics (Debian trixie, test/setup/deps-otlp.sh), queried.
// - http/json (and protobuf) decoded by a receiver built from the official OTLP definitions.
// - Failure paths on that receiver: absent, slow, 5xx, 400, reset; drops counted; recovery.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { Agent } from '../../src/schedule/tick';
import { CollectStage } from '../../src/collect/stage';
import { resolveSection, sinkContext } from '../helpers/sinks';
import { otlp } from '../../src/deliver/otlp/plugin';
import { ProcfsDiscovery } from '../../src/discover/procfs';
import { createLogger } from '../../src/core/log';
import { Batch, Sink } from '../../src/core/model';
import { SelfStats } from '../../src/core/self-stats';
import { kernelPageSize } from '../helpers/metrics';
import { OtlpSink } from '../../src/deliver/otlp/sink';
import { OtlpMetric, OtlpReceiver } from '../helpers/otlp-receiver';
import { Victoria, freePort, victoria } from '../helpers/victoria';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'proctree');
const T0 = 1_700_000_040;
const SECRET = 's3cret-token';
const C300 = '4e3eb141f15f';
const C600 = 'cccccccccccc';

let tree: string;
let logText = '';
const logStream = new PassThrough().on('data', (d: Buffer) => (logText += d.toString()));
const savedEnv: Record<string, string | undefined> = {};

beforeAll(() => {
  // The exporter reads OTEL_EXPORTER_OTLP_* itself: keep the machine's out of these tests.
  for (const k of Object.keys(process.env).filter((k) => k.startsWith('OTEL_'))) {
    savedEnv[k] = process.env[k];
    delete process.env[k];
  }
});
afterAll(() => Object.assign(process.env, savedEnv));
beforeEach(() => {
  tree = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-otlp-tree-'));
  fs.cpSync(FIXTURE, tree, { recursive: true, verbatimSymlinks: true });
});
afterEach(() => fs.rmSync(tree, { recursive: true, force: true }));

/** Sets one snmp field of a pid in the tree copy (e.g. Tcp ActiveOpens). */
function setSnmp(pid: number, proto: string, field: string, value: number): void {
  const file = path.join(tree, String(pid), 'net', 'snmp');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith(`${proto}: `));
  const names = lines[i].split(' ');
  const values = lines[i + 1].split(' ');
  values[names.indexOf(field)] = String(value);
  lines[i + 1] = values.join(' ');
  fs.writeFileSync(file, lines.join('\n'));
}

const cfg = (over: Record<string, unknown>) => ({
  enabled: true, endpoint: '', protocol: 'http/protobuf', headers: '', timeout: 2,
  buffer_bytes: 8 << 20, buffer_points: 0, attempts: 2, backoff_initial: 0, backoff_max: 0, ...over,
});

function makeSink(over: Record<string, unknown>, stats = new SelfStats(), name = 'otlp') {
  const sink = new OtlpSink(resolveSection(otlp, cfg(over), process.env), { ...sinkContext(name, { log: createLogger('debug', logStream), stats, hostname: 'fixture-host' }), version: '9.9.9' });
  return { sink, stats, counters: stats.sink(name) };
}

function agent(sinks: Sink[], stats = new SelfStats()): Agent {
  return new Agent({
    discovery: new ProcfsDiscovery({ procRoot: tree, copyLabels: [], filter: () => true, hasIncludeFilter: false }),
    collect: new CollectStage(tree),
    sinks, log: createLogger('silent'), hostname: 'fixture-host', interval: { period: 60, fixed: true }, cycleTimeoutMs: 10_000, stats,
  });
}
const at = (ts: number): Date => new Date((ts + 5) * 1000);
/** Real batches from the pipeline, at T0, T0+60, … */
async function batches(n: number): Promise<Batch[]> {
  const a = agent([]);
  const out: Batch[] = [];
  for (let i = 0; i < n; i++) out.push((await a.runCycle(at(T0 + 60 * i))).batch);
  return out;
}
const wait = (ms = 10_000) => AbortSignal.timeout(ms);
const point = (ms: OtlpMetric[], name: string, attrs: Record<string, unknown>) =>
  ms.filter((m) => m.name === name).flatMap((m) => m.points).filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));

afterAll(() => {
  expect(logText).toMatch(/OTLP sink ready/);
  expect(logText).not.toContain(SECRET); // headers are never logged
});

victoria().describe('OTLP http/protobuf into VictoriaMetrics', () => {
  let vm: Victoria;
  beforeAll(async () => {
    vm = await Victoria.start();
  }, 30_000);
  afterAll(() => vm?.stop());

  it('stores the series, values and attributes; a vanished container stops; counters accumulate', async () => {
    const stats = new SelfStats();
    const { sink, counters } = makeSink({ endpoint: vm.otlpUrl }, stats);
    await sink.start();
    const a = agent([sink], stats);
    const first = await a.runCycle(at(T0));
    setSnmp(300, 'Tcp', 'ActiveOpens', 15);
    fs.rmSync(path.join(tree, '600'), { recursive: true }); // the container left
    const second = await a.runCycle(at(T0 + 60));
    await sink.close();
    const sent1 = (first.deliveries[0].result as { sent: number }).sent;
    expect(first.deliveries[0].result).toEqual({ status: 'ok', sent: expect.any(Number) });
    expect(second.deliveries[0].result.status).toBe('ok');
    expect(counters).toMatchObject({ buffered: 0, dropped: {}, last_success: expect.any(Number) });
    expect(counters.sent).toBe(sent1 + (second.deliveries[0].result as { sent: number }).sent);

    const resource = { 'service.name': 'sockpulse', 'service.version': '9.9.9', 'host.name': 'fixture-host' };
    const all = await vm.exportSeries();
    expect(all.filter((s) => s.timestamps.includes(T0 * 1000))).toHaveLength(sent1); // one series per point
    for (const s of all) expect(s.metric).toMatchObject(resource);

    const est = await vm.exportSeries(`{__name__="sockpulse.tcp.established",container.id="${C300}"}`);
    expect(est).toEqual([{ metric: { __name__: 'sockpulse.tcp.established', 'container.id': C300, 'sockpulse.scope': 'container', ...resource }, values: [11, 11], timestamps: [T0 * 1000, (T0 + 60) * 1000] }]);
    const gone = await vm.exportSeries(`{__name__="sockpulse.tcp.established",container.id="${C600}"}`);
    expect(gone.map((s) => s.timestamps)).toEqual([[T0 * 1000]]); // no point after it vanished
    const netns = await vm.exportSeries('{__name__="sockpulse.tcp.inuse",sockpulse.scope="netns"}');
    expect(netns.map((s) => [s.metric['network.namespace'], s.values])).toEqual([['netns-4026532500', [10, 10]]]);
    const pod = await vm.exportSeries('{__name__="sockpulse.sockets.used",k8s.pod.uid!=""}');
    expect(pod.map((s) => s.metric['container.id'])).toEqual(['aaaaaaaaaaaa,bbbbbbbbbbbb']);

    const opens = await vm.exportSeries(`{__name__="sockpulse.tcp.active_opens",container.id="${C300}"}`);
    expect(opens.map((s) => s.values)).toEqual([[9, 15]]);
    expect(await vm.query(`{__name__="sockpulse.tcp.active_opens",container.id="${C300}"}`, T0 + 60)).toEqual([expect.objectContaining({ value: 15 })]);

    // Host-wide numbers: nothing but the resource; bytes, not pages.
    expect(await vm.exportSeries('{__name__="sockpulse.host.tcp.memory"}')).toEqual([
      { metric: { __name__: 'sockpulse.host.tcp.memory', ...resource }, values: [142 * kernelPageSize(), 142 * kernelPageSize()], timestamps: [T0 * 1000, (T0 + 60) * 1000] },
    ]);
    // The agent's own numbers, with their attributes (the second batch reports the first push).
    // The one collect error is 600's truncated sockstat; 600 left, so the counter stays at 1.
    expect((await vm.exportSeries('{__name__="sockpulse.agent.errors",stage="collect"}'))[0].values).toEqual([1, 1]);
    const sentSeries = await vm.exportSeries('{__name__="sockpulse.agent.sink.sent",sink="otlp"}');
    expect(sentSeries.map((s) => [s.values, s.timestamps])).toEqual([[[0, sent1], [T0 * 1000, (T0 + 60) * 1000]]]);
  });
});

describe('OTLP over the reference receiver', () => {
  let rx: OtlpReceiver;
  beforeEach(async () => {
    rx = await OtlpReceiver.start();
  });
  afterEach(() => rx.close());

  it('sends http/json with the configured headers; protobuf carries the same data', async () => {
    const json = makeSink({ endpoint: rx.url, protocol: 'http/json', headers: `authorization=Bearer%20${SECRET},x-scope-orgid=tenant-1` });
    const proto = makeSink({ endpoint: rx.url, protocol: 'http/protobuf' }, json.stats, 'otlp-proto');
    await json.sink.start();
    await proto.sink.start();
    const a = agent([json.sink, proto.sink], json.stats);
    await a.runCycle(at(T0));
    setSnmp(300, 'Tcp', 'ActiveOpens', 15);
    fs.rmSync(path.join(tree, '600'), { recursive: true });
    await a.runCycle(at(T0 + 60));
    await json.sink.close();
    await proto.sink.close();

    const jsonReqs = rx.requests.filter((r) => r.encoding === 'json');
    const protoReqs = rx.requests.filter((r) => r.encoding === 'protobuf');
    expect(jsonReqs).toHaveLength(2);
    expect(protoReqs).toHaveLength(2);
    for (const r of jsonReqs) {
      expect(r).toMatchObject({ path: '/v1/metrics', status: 200 });
      expect(r.headers).toMatchObject({ authorization: `Bearer ${SECRET}`, 'x-scope-orgid': 'tenant-1', 'content-type': 'application/json' });
      expect(r.headers['user-agent']).toBe('sockpulse/9.9.9');
    }
    expect(protoReqs[0].headers.authorization).toBeUndefined();
    // Same content whatever the encoding (the agent's own sink counters aside).
    const own = (ms: OtlpMetric[]) => ms.filter((m) => !m.name.startsWith('sockpulse.agent.sink.'));
    expect(own(protoReqs[1].resources[0].metrics)).toEqual(own(jsonReqs[1].resources[0].metrics));

    const [r1, r2] = jsonReqs.map((r) => r.resources[0]);
    expect(r1.attributes).toEqual({ 'service.name': 'sockpulse', 'service.version': '9.9.9', 'host.name': 'fixture-host' });
    expect(r1.scope).toEqual({ name: 'sockpulse', version: '9.9.9' });
    const ns = (s: number) => `${s}000000000`;
    const est = r1.metrics.find((m) => m.name === 'sockpulse.tcp.established')!;
    expect(est).toMatchObject({ type: 'gauge', unit: '{connection}', valueKind: 'asInt' });
    expect(point(r1.metrics, 'sockpulse.tcp.established', { 'container.id': C300 })).toEqual([{ attributes: { 'sockpulse.scope': 'container', 'container.id': C300 }, start: ns(T0), time: ns(T0), value: 11 }]);
    expect(point(r2.metrics, 'sockpulse.tcp.established', { 'container.id': C600 })).toEqual([]); // vanished
    const opens = r2.metrics.find((m) => m.name === 'sockpulse.tcp.active_opens')!;
    expect(opens).toMatchObject({ type: 'sum', temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', monotonic: true, unit: '{connection}' });
    expect(point(r2.metrics, 'sockpulse.tcp.active_opens', { 'container.id': C300 })).toEqual([
      { attributes: { 'sockpulse.scope': 'container', 'container.id': C300 }, start: ns(T0), time: ns(T0 + 60), value: 15 },
    ]);
    expect(point(r1.metrics, 'sockpulse.host.tcp.orphans', {})[0].attributes).toEqual({});
    expect(r1.metrics.find((m) => m.name === 'sockpulse.agent.cycle.discover.duration')).toMatchObject({ unit: 's', valueKind: 'asDouble' });
  });

  describe('failure paths', () => {
    const fast = { timeout: 0.4, attempts: 2 };

    it('backend absent: retryable, buffered up to its bound (oldest dropped), delivered in order on recovery', async () => {
      const port = await freePort();
      const bs = await batches(4);
      // The bound counts kept (deflated) bytes: a first sink tells what one batch keeps, then the
      // bound is made to hold two batches and not three (their sizes differ by a few bytes).
      const { sink: probe } = makeSink({ ...fast, endpoint: `http://127.0.0.1:${port}/v1/metrics` });
      await probe.start();
      const kept = /^\d+ points \((\d+) bytes\) buffered/.exec(((await probe.write(bs[0], wait())) as { error: string }).error);
      await probe.close();
      const { sink, counters } = makeSink({ ...fast, endpoint: `http://127.0.0.1:${port}/v1/metrics`, buffer_bytes: Math.round(2.5 * Number(kept![1])) });
      await sink.start();
      const r1 = await sink.write(bs[0], wait());
      expect(r1).toEqual({ status: 'retryable', error: expect.stringMatching(/points \(\d+ bytes\) buffered: ECONNREFUSED/) });
      const perBatch = counters.buffered;
      expect(perBatch).toBeGreaterThanOrEqual(200); // the fixture tree's cycle, interface and protocol counters included
      expect(perBatch).toBeLessThanOrEqual(300);
      expect(counters.retried).toBe(2);
      await sink.write(bs[1], wait());
      await sink.write(bs[2], wait()); // the bound holds two batches: the oldest goes
      expect(counters.dropped).toEqual({ buffer_full: perBatch });
      const back = await OtlpReceiver.start(port);
      try {
        const r = await sink.write(bs[3], wait());
        expect(r).toMatchObject({ status: 'ok' });
        expect(back.requests.map((q) => point(q.resources[0].metrics, 'sockpulse.tcp.established', { 'container.id': C300 })[0].time)).toEqual(
          [T0 + 120, T0 + 180].map((s) => `${s}000000000`), // the 4th batch pushed out the 2nd too
        );
        expect(counters.dropped.buffer_full).toBeGreaterThanOrEqual(2 * perBatch); // later batches carry deliver_ms too
        expect(counters).toMatchObject({ buffered: 0, sent: (r as { sent: number }).sent });
      } finally {
        await sink.close();
        await back.close();
      }
    });

    it('slower than the timeout: retryable at the timeout, not at the answer; then delivered', async () => {
      const bs = await batches(2);
      const { sink, counters } = makeSink({ ...fast, endpoint: rx.url });
      await sink.start();
      rx.mode = { kind: 'slow', ms: 3000 };
      const t0 = Date.now();
      expect(await sink.write(bs[0], wait())).toEqual({ status: 'retryable', error: expect.stringMatching(/no answer within the timeout \(400 ms\)/) });
      expect(Date.now() - t0).toBeLessThan(2000); // two attempts of 0.4 s
      expect(rx.requests).toHaveLength(2);
      rx.mode = { kind: 'ok' };
      expect(await sink.write(bs[1], wait())).toMatchObject({ status: 'ok' });
      expect(counters).toMatchObject({ retried: 2, buffered: 0, dropped: {} });
      expect(rx.metrics().filter((m) => m.name === 'sockpulse.tcp.established')).toHaveLength(2);
      await sink.close();
    });

    it('cycle deadline before the timeout: the request is abandoned at the deadline, the payload kept', async () => {
      const bs = await batches(2);
      const { sink } = makeSink({ endpoint: rx.url, timeout: 5 });
      await sink.start();
      rx.mode = { kind: 'slow', ms: 2000 };
      const t0 = Date.now();
      expect(await sink.write(bs[0], wait(150))).toEqual({ status: 'retryable', error: expect.stringMatching(/deadline reached/) });
      expect(Date.now() - t0).toBeLessThan(1000);
      rx.mode = { kind: 'ok' };
      expect(await sink.write(bs[1], wait())).toMatchObject({ status: 'ok' });
      const times = rx.requests.filter((r) => r.status === 200).map((r) => point(r.resources[0].metrics, 'sockpulse.tcp.established', { 'container.id': C300 })[0].time);
      expect(times).toEqual([T0, T0 + 60].map((t) => `${t}000000000`));
      await sink.close();
    });

    it.each([
      [500, /HTTP 500: status 500/],
      [503, /HTTP 503: status 503/],
    ])('%d: retryable, kept, delivered on recovery', async (status, message) => {
      const bs = await batches(2);
      const { sink, counters } = makeSink({ ...fast, endpoint: rx.url });
      await sink.start();
      rx.mode = { kind: 'status', status };
      expect(await sink.write(bs[0], wait())).toEqual({ status: 'retryable', error: expect.stringMatching(message) });
      expect(rx.requests).toHaveLength(2); // one request per attempt: nothing retried behind the queue's back
      expect(counters.retried).toBe(2);
      rx.mode = { kind: 'ok' };
      const ok = await sink.write(bs[1], wait());
      expect(ok).toMatchObject({ status: 'ok' });
      expect(rx.requests.filter((r) => r.status === 200)).toHaveLength(2);
      expect(counters).toMatchObject({ buffered: 0, dropped: {}, sent: (ok as { sent: number }).sent });
      await sink.close();
    });

    it('400: failed, the payload dropped as rejected (not retried), the next one goes through', async () => {
      const bs = await batches(2);
      const { sink, counters } = makeSink({ ...fast, endpoint: rx.url });
      await sink.start();
      rx.mode = { kind: 'status', status: 400, body: 'unsupported metric type' };
      expect(await sink.write(bs[0], wait())).toEqual({ status: 'failed', error: 'HTTP 400: unsupported metric type' });
      expect(rx.requests).toHaveLength(1);
      expect(counters.dropped.rejected).toBeGreaterThanOrEqual(100);
      expect(counters).toMatchObject({ buffered: 0, retried: 0 });
      rx.mode = { kind: 'ok' };
      expect(await sink.write(bs[1], wait())).toMatchObject({ status: 'ok' });
      expect(rx.requests.map((r) => r.status)).toEqual([400, 200]);
      await sink.close();
    });

    it('connection reset: retryable, then delivered', async () => {
      const bs = await batches(2);
      const { sink, counters } = makeSink({ ...fast, endpoint: rx.url });
      await sink.start();
      rx.mode = { kind: 'reset' };
      expect(await sink.write(bs[0], wait())).toEqual({ status: 'retryable', error: expect.stringMatching(/ECONNRESET/) });
      rx.mode = { kind: 'ok' };
      expect(await sink.write(bs[1], wait())).toMatchObject({ status: 'ok' });
      expect(rx.requests.filter((r) => r.status === 200)).toHaveLength(2);
      expect(counters.buffered).toBe(0);
      await sink.close();
    });

    it.each(['http/json', 'http/protobuf'])('%s partial success: delivered, the rejected points counted invalid', async (protocol) => {
      const [b] = await batches(1);
      const { sink, counters } = makeSink({ ...fast, endpoint: rx.url, protocol });
      await sink.start();
      rx.mode = { kind: 'partial', rejected: 3, message: 'three bad points' };
      expect(await sink.write(b, wait())).toMatchObject({ status: 'ok' });
      expect(counters).toMatchObject({ invalid: 3, buffered: 0, dropped: {} });
      expect(logText).toMatch(/OTLP backend rejected points: three bad points/);
      await sink.close();
    });

    it('close() flushes what is buffered once the backend is back, even during a backoff', async () => {
      const port = await freePort();
      const [b] = await batches(1);
      const { sink, counters } = makeSink({ ...fast, attempts: 1, backoff_initial: 30, backoff_max: 30, endpoint: `http://127.0.0.1:${port}/v1/metrics` });
      await sink.start();
      expect((await sink.write(b, wait())).status).toBe('retryable');
      const back = await OtlpReceiver.start(port);
      await sink.close();
      expect(back.requests.map((r) => r.status)).toEqual([200]);
      expect(counters).toMatchObject({ buffered: 0, dropped: {} });
      expect(await sink.write(b, wait())).toEqual({ status: 'failed', error: 'write after close' });
      await back.close();
    });

    it('close() with the backend still down counts what it leaves as dropped (shutdown)', async () => {
      const port = await freePort();
      const [b] = await batches(1);
      const { sink, counters } = makeSink({ ...fast, endpoint: `http://127.0.0.1:${port}/v1/metrics` });
      await sink.start();
      await sink.write(b, wait());
      const held = counters.buffered;
      await sink.close();
      expect(counters.dropped).toEqual({ shutdown: held });
      expect(logText).toMatch(/buffered points dropped/);
    });
  });
});
