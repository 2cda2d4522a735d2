// The Open-Falcon sink against a receiver that implements the agent's and the transfer's push
// contract (test/helpers/falcon-receiver.ts, from falcon-plus's source), fed by the real pipeline
// on the fixture proc tree, so every batch holds real kernel numbers.
import * as http from 'http';
import * as net from 'net';
import { Writable } from 'stream';
import { WITHOUT_ORPHANS, fixturePipeline } from '../helpers/pipeline';
import { resolveSection, sinkContext } from '../helpers/sinks';
import { falcon } from '../../src/deliver/falcon/plugin';
import { createLogger } from '../../src/core/log';
import { Batch, Sink } from '../../src/core/model';
import { SelfStats } from '../../src/core/self-stats';
import { FalconSink } from '../../src/deliver/falcon/sink';
import { FailMode, FalconReceiver, ReceivedItem, agentTransferDown } from '../helpers/falcon-receiver';

const T0 = 1_700_000_059_000; // aligned down to 1_700_000_040
const at = (cycle: number) => new Date(T0 + cycle * 60_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type FalconSettings = Record<string, unknown>;
const settings = (url: string, over: FalconSettings = {}) => ({
  enabled: true, url, endpoint: '{host}', prefix: 'sockpulse', timeout: 1, batch_size: 500,
  buffer_bytes: 8 << 20, buffer_points: 0, attempts: 3, backoff_initial: 0.01, backoff_max: 0.04, ...over,
});

/** The real pipeline: procfs discovery and collection of the fixture tree. */
const pipeline = (sinks: Sink[], stats: SelfStats, cycleTimeoutMs: number) => fixturePipeline({ sinks, stats, cycleTimeoutMs, collectors: WITHOUT_ORPHANS() });

/** The pipeline delivering to a FalconSink, whose debug log is kept in `lines`. */
function setup(url: string, over: FalconSettings = {}, cycleTimeoutMs = 3000) {
  const stats = new SelfStats();
  const lines: string[] = [];
  const log = createLogger('debug', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const sink = new FalconSink(resolveSection(falcon, settings(url, over)), sinkContext('falcon', { log, stats, hostname: 'fixture-host' }));
  return { sink, agent: pipeline([sink], stats, cycleTimeoutMs), counters: stats.sink('falcon'), lines };
}

/** A batch of the fixture tree, delivered nowhere. */
async function fixtureBatch(cycle = 0): Promise<Batch> {
  return (await pipeline([], new SelfStats(), 3000).runCycle(at(cycle))).batch;
}

/** Kernel samples of a batch as [metric, value], for comparison with what arrived (agent points aside). */
function kernelSamples(batch: Batch): string[] {
  return batch.results.flatMap((r) => r.samples.map((s) => `sockpulse.${s.def.falcon}=${s.value}`)).sort();
}
const kernelItems = (items: ReceivedItem[]) => items.filter((i) => !i.metric.startsWith('sockpulse.agent.')).map((i) => `${i.metric}=${i.value}`).sort();

function post(url: string, body: string, headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(body) }) {
  return new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), text }));
    });
    req.on('error', reject).end(body);
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

let rx: FalconReceiver;
beforeEach(async () => {
  rx = await FalconReceiver.start();
});
afterEach(async () => {
  await rx.close();
});

const item = (over: Record<string, unknown> = {}) => ({ endpoint: 'e', metric: 'm', timestamp: 1_700_000_040, step: 60, value: 1, counterType: 'GAUGE', tags: 'a=1', ...over });

describe('the receiver implements the push contract', () => {
  it.each([
    ['tags as an object', [item(), item({ tags: { a: '1' } })]],
    ['a float step', [item(), item({ step: 60.5 })]],
    ['a step written 60.0', '[{"endpoint":"e","metric":"m","step":60.0,"value":1,"counterType":"GAUGE"}]'],
    ['a string timestamp', [item({ timestamp: '1700000040' })]],
    ['a number as endpoint', [item({ endpoint: 7 })]],
    ['an out-of-range number as value', '[{"endpoint":"e","metric":"m","step":60,"value":1e400,"counterType":"GAUGE"}]'],
    ['a step beyond int64', '[{"endpoint":"e","metric":"m","step":9223372036854775808,"value":1,"counterType":"GAUGE"}]'],
    ['an element that is not an object', [item(), 5]],
    ['an object instead of an array', item()],
    ['a syntax error', '[{"endpoint":"e",}]'],
    ['a raw newline inside a string', '[{"endpoint":"e\n"}]'],
  ])('answers 400 for the whole batch on %s', async (_what, body) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    expect(await post(rx.transferUrl, text)).toMatchObject({ status: 400, text: 'decode error\n' });
    expect(await post(rx.agentUrl, text)).toMatchObject({ status: 400, text: 'connot decode body\n' });
    expect(rx.items).toEqual([]);
  });

  it('answers 400 to an empty body', async () => {
    expect(await post(rx.transferUrl, '')).toMatchObject({ status: 400, text: 'blank body\n' });
    expect(await post(rx.agentUrl, '')).toMatchObject({ status: 400, text: 'body is blank\n' });
    expect(await post(rx.transferUrl, '  ', { 'transfer-encoding': 'chunked' })).toMatchObject({ status: 400, text: 'decode error\n' });
  });

  it('checks items one by one and reports Total and Invalid', async () => {
    const body = [
      item({ metric: 'good.number' }),
      null,
      item({ metric: 'kernel.hostname' }),
      item({ endpoint: '' }),
      item({ metric: '' }),
      item({ counterType: 'gauge' }),
      item({ value: '' }),
      item({ value: 'abc' }),
      item({ value: true }),
      item({ value: null }),
      item({ step: 0 }),
      item({ step: null }),
      item({ metric: 'm', tags: `k=${'v'.repeat(508)}` }), // 1 + 510 bytes
      item({ metric: 'good.string', value: '1_000.5' }),
      item({ metric: 'good.hex', value: '0x1p-2', counterType: 'DERIVE' }),
      item({ metric: 'good.at510', tags: `k=${'v'.repeat(498)}` }),
    ];
    const r = await post(rx.transferUrl, JSON.stringify(body));
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/json; charset=UTF-8');
    expect(JSON.parse(r.text)).toEqual({ msg: 'success', data: { Message: 'ok', Total: 16, Invalid: 12, Latency: expect.any(Number) } });
    expect(rx.items.map((i) => [i.metric, i.value])).toEqual([['good.number', 1], ['good.string', 1000.5], ['good.hex', 0.25], ['good.at510', 1]]);
    expect(rx.rejected.map((x) => x.reason)).toEqual([
      'nil', 'kernel.hostname', 'empty metric or endpoint', 'empty metric or endpoint', 'counterType', 'empty value', 'value', 'value', 'value', 'step', 'step', 'metric+tags over 510 bytes',
    ]);
  });

  it('as the agent, always answers "success", even when every item is invalid', async () => {
    const r = await post(rx.agentUrl, JSON.stringify([item({ step: 0 }), item({ counterType: 'x' })]));
    expect(r).toEqual({ status: 200, type: 'text/plain; charset=utf-8', text: 'success' });
    expect(rx.items).toEqual([]);
    expect(rx.rejected).toHaveLength(2);
  });

  it('parses tags as the transfer does, matches keys case-insensitively and reads only the first value', async () => {
    const body = '[{"Endpoint":"e","METRIC":"m","ſtep":60,"value":"2","countertype":"GAUGE","tags":"a=1, b = 2,c,d=x=y,=z","extra":[1],"timestamp":1700000040000}] trailing';
    expect((await post(rx.transferUrl, body)).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    expect(rx.items).toEqual([{
      via: 'transfer', endpoint: 'e', metric: 'm', step: 60, value: 2, counterType: 'GAUGE',
      tags: { a: '1', b: '2', d: 'x=y', '': 'z' }, rawTags: 'a=1, b = 2,c,d=x=y,=z', timestamp: expect.any(Number),
    }]);
    expect(Math.abs(rx.items[0].timestamp - now)).toBeLessThanOrEqual(2); // milliseconds (> 2×now) become now
  });
});

describe('FalconSink delivers real cycles', () => {
  it('sends every sample of a cycle exactly once, with the documented names, tags, endpoint, step and type', async () => {
    const { agent, counters } = setup(rx.transferUrl, { batch_size: 40 });
    const { batch, deliveries } = await agent.runCycle(at(0));
    expect(batch.timestamp).toBe(1_700_000_040);
    const n = rx.items.length;
    expect(deliveries).toEqual([{ sink: 'falcon', result: { status: 'ok', sent: n } }]);
    expect(counters).toMatchObject({ sent: n, invalid: 0, buffered: 0, dropped: {}, retried: 0 });

    for (const i of rx.items) expect(i).toMatchObject({ via: 'transfer', endpoint: 'fixture-host', step: 60, timestamp: 1_700_000_040 });
    expect(kernelItems(rx.items)).toEqual(kernelSamples(batch));
    for (const i of rx.items) {
      const def = batch.results.flatMap((r) => r.samples).find((s) => `sockpulse.${s.def.falcon}` === i.metric)?.def;
      if (def) expect(i.counterType).toBe(def.kind === 'counter' ? 'COUNTER' : 'GAUGE');
    }

    const byTags = (tags: Record<string, string>) =>
      Object.fromEntries(rx.items.filter((i) => JSON.stringify(i.tags) === JSON.stringify(tags)).map((i) => [i.metric, i.value]));
    // The Docker container (pid 300): the `mix` capture, 11 established, 15 in use, 3 TIME_WAIT.
    expect(byTags({ scope: 'container', container_id: '4e3eb141f15f' })).toEqual({
      'sockpulse.estab': 11, 'sockpulse.inuse': 15, 'sockpulse.timewait': 3, 'sockpulse.total': 18, 'sockpulse.udp.inuse': 3,
      'sockpulse.tcp.active_opens': 9, 'sockpulse.tcp.passive_opens': 9, 'sockpulse.tcp.attempt_fails': 0, 'sockpulse.tcp.estab_resets': 0,
      'sockpulse.tcp.retrans_segs': 0, 'sockpulse.tcp.in_errs': 0, 'sockpulse.tcp.out_rsts': 0, 'sockpulse.udp.in_datagrams': 0,
      'sockpulse.udp.out_datagrams': 0, 'sockpulse.udp.no_ports': 0, 'sockpulse.udp.in_errors': 0, 'sockpulse.udp.rcvbuf_errors': 0,
      'sockpulse.udp.sndbuf_errors': 0,
      'sockpulse.netstat.TcpExt.ListenOverflows': 0, 'sockpulse.netstat.TcpExt.ListenDrops': 0, 'sockpulse.netstat.TcpExt.TCPTimeouts': 0,
      'sockpulse.netstat.TcpExt.TCPAbortOnTimeout': 0, 'sockpulse.netstat.TcpExt.TCPAbortOnMemory': 0, 'sockpulse.netstat.TcpExt.TCPBacklogDrop': 0,
      'sockpulse.netstat.TcpExt.TCPLostRetransmit': 0, 'sockpulse.netstat.TcpExt.TCPSynRetrans': 0,
      'sockpulse.netstat.IpExt.InOctets': 147, 'sockpulse.netstat.IpExt.OutOctets': 119, 'sockpulse.netstat.Ip6.InOctets': 224, 'sockpulse.netstat.Ip6.OutOctets': 432,
      'sockpulse.netstat.Udp6.InDatagrams': 0, 'sockpulse.netstat.Udp6.OutDatagrams': 0, 'sockpulse.netstat.Udp6.NoPorts': 0, 'sockpulse.netstat.Udp6.InErrors': 0,
      'sockpulse.netstat.Udp6.RcvbufErrors': 0, 'sockpulse.netstat.Udp6.SndbufErrors': 0,
    });
    // Its interface (lo left out): the same tags plus interface.
    expect(byTags({ scope: 'container', container_id: '4e3eb141f15f', interface: 'eth0' })).toEqual({
      'sockpulse.if.rx_bytes': 381, 'sockpulse.if.rx_packets': 5, 'sockpulse.if.rx_errors': 0, 'sockpulse.if.rx_dropped': 0,
      'sockpulse.if.tx_bytes': 603, 'sockpulse.if.tx_packets': 8, 'sockpulse.if.tx_errors': 0, 'sockpulse.if.tx_dropped': 0,
    });
    // The host target: scope=host only; host-wide numbers once, without tags; none on the pod.
    expect(byTags({ scope: 'host' })).toMatchObject({ 'sockpulse.estab': 0, 'sockpulse.inuse': 1, 'sockpulse.total': 35, 'sockpulse.tcp.out_rsts': 78 });
    expect(byTags({})).toMatchObject({ 'sockpulse.host.orphaned': 0, 'sockpulse.host.tcp_alloc': 1, 'sockpulse.host.tcp_mem_pages': 142, 'sockpulse.host.udp_mem_pages': 0 });
    expect(rx.items.filter((i) => i.metric.startsWith('sockpulse.host.'))).toHaveLength(4);
    // The pod's two containers: the joining ',' cannot split the tag.
    expect(byTags({ scope: 'container', container_id: 'aaaaaaaaaaaa_bbbbbbbbbbbb', pod_uid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' })).toMatchObject({ 'sockpulse.estab': 0, 'sockpulse.total': 1 });
    // The agent's own points carry their labels.
    expect(rx.items.find((i) => i.metric === 'sockpulse.agent.cycles')).toMatchObject({ value: 1, counterType: 'COUNTER', tags: {} });
    expect(rx.items.find((i) => i.metric === 'sockpulse.agent.errors' && i.tags.stage === 'collect')).toMatchObject({ value: 1, rawTags: 'stage=collect' });

    // On the wire: arrays of at most batch_size items, in order, fields in the documented order.
    const bodies = rx.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>[]);
    expect(bodies.length).toBe(Math.ceil(n / 40));
    for (const b of bodies) expect(b.length).toBeLessThanOrEqual(40);
    expect(bodies.flat().map((i) => i.metric)).toEqual(rx.items.map((i) => i.metric));
    expect(Object.keys(bodies[0][0])).toEqual(['endpoint', 'metric', 'timestamp', 'step', 'value', 'counterType', 'tags']);
    expect(batch.results[0].samples[0]).toMatchObject({ def: { key: 'inuse' }, value: 1 });
    expect(bodies[0][0]).toEqual({ endpoint: 'fixture-host', metric: 'sockpulse.inuse', timestamp: 1_700_000_040, step: 60, value: 1, counterType: 'GAUGE', tags: 'scope=host' });
  });

  it('sends the same items to the agent, whose reply carries no Invalid count', async () => {
    const { agent, counters } = setup(rx.agentUrl);
    const { batch, deliveries } = await agent.runCycle(at(0));
    expect(deliveries[0].result).toEqual({ status: 'ok', sent: rx.items.length });
    expect(rx.items.every((i) => i.via === 'agent')).toBe(true);
    expect(kernelItems(rx.items)).toEqual(kernelSamples(batch));
    // Items the transfer behind an agent drops are invisible to the sender.
    await rx.setMode({ kind: 'rewrite', fn: (b) => b.replace(/"COUNTER"/g, '"counter"') });
    expect((await agent.runCycle(at(1))).deliveries[0].result.status).toBe('ok');
    expect(counters.invalid).toBe(0);
  });

  it('counts the items a transfer reports invalid', async () => {
    const { agent, counters, lines } = setup(rx.transferUrl);
    await rx.setMode({ kind: 'rewrite', fn: (b) => b.replace(/"COUNTER"/g, '"counter"') });
    const { deliveries } = await agent.runCycle(at(0));
    const counterItems = JSON.parse(rx.requests[0].body.replace(/"counter"/g, '"COUNTER"')).filter((i: { counterType: string }) => i.counterType === 'COUNTER').length;
    expect(counterItems).toBeGreaterThan(50);
    expect(deliveries[0].result).toEqual({ status: 'ok', sent: rx.requests[0].total });
    expect(counters.invalid).toBe(counterItems);
    expect(rx.items.every((i) => i.counterType === 'GAUGE')).toBe(true);
    expect(lines.some((l) => /reported items invalid/.test(l) && l.includes(`"invalid":${counterItems}`))).toBe(true);
    // The next cycle's batch reports it.
    const next = await agent.runCycle(at(1));
    expect(next.batch.self.sinks.falcon.invalid).toBe(counterItems);
  });

  it('keeps hostile container names and labels from breaking or injecting tags, and drops what cannot fit', async () => {
    const { sink, counters, lines } = setup(rx.transferUrl);
    const batch = await fixtureBatch();
    const [web, pod] = batch.results.filter((r) => r.target.scope === 'container');
    web.target.labels = { container: 'web,scope=host x=1\nevil', pod: 'p', namespace: 'prod ns', image: 'ünï😀' };
    pod.target.labels = { container: 'c'.repeat(200), pod: 'p'.repeat(200), namespace: 'n'.repeat(200) };
    const r = await sink.write(batch, AbortSignal.timeout(5000));
    expect(r.status).toBe('ok');
    const webItems = rx.items.filter((i) => i.tags.pod === 'p');
    expect(webItems.length).toBe(web.samples.length);
    const own = (m: string) => (m.startsWith('sockpulse.if.') ? { interface: 'eth0' } : {});
    for (const i of webItems) expect(i.tags).toEqual({ scope: 'container', container: 'web_scope_host_x_1_evil', pod: 'p', namespace: 'prod_ns', image: '_n__', ...own(i.metric) });
    expect(rx.items.some((i) => i.tags.container?.startsWith('ccc'))).toBe(false);
    expect(counters.dropped).toEqual({ invalid_local: pod.samples.length });
    expect(lines.some((l) => l.includes('"dropped":{"too_long":') && /"level":20/.test(l))).toBe(true);
    expect(rx.rejected).toEqual([]);
  });
});

describe('FalconSink fitting tags into 255 characters', () => {
  it('logs the labels it leaves out once per namespace while that lasts, and counts every label left out of every item', async () => {
    const { sink, counters, lines } = setup(rx.transferUrl);
    const long = (c: string) => c.repeat(63);
    const said = () => lines.filter((l) => l.includes('labels left out'));
    const send = async (cycle: number, trim: boolean) => {
      const batch = await fixtureBatch(cycle);
      const web = batch.results.find((r) => r.target.pid === 300)!;
      web.target.labels = trim ? { container: long('c'), pod: long('p'), namespace: 'prod', image: long('i'), pod_uid: long('u') } : { container: 'web' };
      batch.self.sinks = { falcon: { ...counters, dropped: { ...counters.dropped } } }; // as the agent's snapshot would hold
      expect(await sink.write(batch, AbortSignal.timeout(3000))).toMatchObject({ status: 'ok' });
      return web.samples.length;
    };
    const n = await send(0, true);
    expect(said()).toHaveLength(1);
    expect(JSON.parse(said()[0])).toMatchObject({ level: 40, dropped: [`image=${long('i')}`, `pod_uid=${long('u')}`], series: n });
    expect(counters.labels_dropped).toBe(2 * n);
    await send(1, true); // the same namespace trimmed again: counted, not said again
    expect(said()).toHaveLength(1);
    expect(counters.labels_dropped).toBe(4 * n);
    await send(2, false); // fits again
    await send(3, true); // trimmed again after a cycle that fitted: said again
    expect(said()).toHaveLength(2);
    expect(counters.labels_dropped).toBe(6 * n);
    const reported = rx.items.filter((i) => i.metric === 'sockpulse.agent.sink.labels_dropped' && i.tags.sink === 'falcon').map((i) => i.value);
    expect(reported).toEqual([2 * n, 4 * n, 4 * n]); // each batch carries the count as it stood
    expect(counters.dropped).toEqual({});
  });
});

describe('FalconSink when the backend fails', () => {
  /** What arrived, by cycle timestamp, in arrival order. */
  const timestamps = () => [...new Set(rx.items.map((i) => i.timestamp))];

  it.each([
    ['refuses connections', { kind: 'refuse' }, 3],
    ['answers 503', { kind: 'status', status: 503 }, 3],
    ['answers 500', { kind: 'status', status: 500 }, 2],
    ['resets connections', { kind: 'reset' }, 3],
    ['is slower than the request timeout', { kind: 'slow', ms: 2000, accept: 'after' }, 2],
  ] as [string, FailMode, number][])('backend %s: cycles go on, retries are counted, and recovery delivers everything in order', async (_what, mode, cycles) => {
    const { agent, counters } = setup(rx.transferUrl, { timeout: 0.3, attempts: 2, batch_size: 50 }, 2000);
    await rx.setMode(mode);
    const batches: Batch[] = [];
    for (let c = 0; c < cycles; c++) {
      const t = Date.now();
      const { batch, deliveries } = await agent.runCycle(at(c));
      expect(Date.now() - t).toBeLessThan(2300);
      expect(deliveries[0].result).toMatchObject({ status: 'retryable', error: expect.stringMatching(/points \(\d+ bytes\) buffered/) });
      batches.push(batch);
    }
    expect(rx.items).toEqual([]);
    expect(counters.retried).toBeGreaterThanOrEqual(2); // the attempts of one drain at least (later ones may find it backing off)
    expect(counters.dropped).toEqual({});
    const buffered = counters.buffered;
    expect(buffered).toBeGreaterThan(cycles * 90);
    expect(batches[cycles - 1].self.sinks.falcon.buffered).toBeGreaterThan(0); // the batch reports it

    await rx.setMode({ kind: 'ok' });
    await sleep(60); // past the backoff (at most backoff_max)
    const { batch, deliveries } = await agent.runCycle(at(cycles));
    batches.push(batch);
    expect(deliveries[0].result).toEqual({ status: 'ok', sent: rx.items.length });
    expect(rx.items.length).toBeGreaterThan(buffered);
    expect(counters).toMatchObject({ buffered: 0, dropped: {}, sent: rx.items.length });
    expect(timestamps()).toEqual(batches.map((b) => b.timestamp));
    for (const b of batches) expect(kernelItems(rx.items.filter((i) => i.timestamp === b.timestamp))).toEqual(kernelSamples(b));
  });

  it('backend absent: nothing ever listened on the port, and the agent keeps cycling', async () => {
    const { agent, counters } = setup(`http://127.0.0.1:${await freePort()}/api/push`, { timeout: 0.2 }, 1000);
    for (let c = 0; c < 5; c++) {
      const t = Date.now();
      expect((await agent.runCycle(at(c))).deliveries[0].result.status).toBe('retryable');
      expect(Date.now() - t).toBeLessThan(1300);
    }
    expect(counters.retried).toBeGreaterThanOrEqual(3);
    expect(counters.sent).toBe(0);
  });

  it('a backend slower than the cycle deadline never holds a cycle past it', async () => {
    const { agent } = setup(rx.transferUrl, { timeout: 30 }, 400);
    await rx.setMode({ kind: 'slow', ms: 5000, accept: 'after' });
    for (let c = 0; c < 2; c++) {
      const t = Date.now();
      expect((await agent.runCycle(at(c))).deliveries[0].result.status).toBe('retryable');
      expect(Date.now() - t).toBeLessThan(900);
    }
  });

  it('a slow backend that takes the items before answering late may get them twice, never loses them', async () => {
    const { agent } = setup(rx.transferUrl, { timeout: 0.3, attempts: 2 }, 2000);
    await rx.setMode({ kind: 'slow', ms: 600, accept: 'before' });
    const { batch } = await agent.runCycle(at(0));
    await rx.setMode({ kind: 'ok' });
    await sleep(60);
    expect((await agent.runCycle(at(1))).deliveries[0].result.status).toBe('ok');
    const first = rx.items.filter((i) => i.timestamp === batch.timestamp);
    expect([...new Set(kernelItems(first))]).toEqual([...new Set(kernelSamples(batch))]);
  });

  it('a batch the backend rejects with 400 is dropped and counted, and does not block the next', async () => {
    const { agent, counters } = setup(rx.transferUrl, { batch_size: 50 });
    // A proxy turns the step into a float: the contract's own batch-level 400.
    await rx.setMode({ kind: 'rewrite', fn: (b) => b.replace(/"step":60/g, '"step":60.5') });
    const first = await agent.runCycle(at(0));
    expect(first.deliveries[0].result).toEqual({ status: 'failed', error: 'HTTP 400: decode error' });
    expect(rx.requests.every((r) => r.status === 400)).toBe(true);
    const rejected = counters.dropped.rejected;
    expect(rejected).toBe(rx.requests.reduce((n, r) => n + JSON.parse(r.body).length, 0));
    expect(counters).toMatchObject({ buffered: 0, retried: 0 });
    await rx.setMode({ kind: 'ok' });
    const { batch, deliveries } = await agent.runCycle(at(1));
    expect(deliveries[0].result.status).toBe('ok');
    expect(timestamps()).toEqual([batch.timestamp]); // the rejected cycle is not resent
    expect(rx.items.find((i) => i.metric === 'sockpulse.agent.sink.dropped')).toMatchObject({ value: rejected, tags: { sink: 'falcon', reason: 'rejected' } });
  });

  it('keeps memory bounded through a long outage, dropping the oldest (counted), and delivers the newest on recovery', async () => {
    // About two cycles of the fixture's ~330 points, deflated (the bound counts kept bytes).
    const bound = 8000;
    const { agent, counters, sink } = setup(rx.transferUrl, { buffer_bytes: bound, batch_size: 25 }, 1000);
    await rx.setMode({ kind: 'refuse' });
    const batches: Batch[] = [];
    for (let c = 0; c < 12; c++) {
      const { batch, deliveries } = await agent.runCycle(at(c));
      batches.push(batch);
      const kept = /^(\d+) points \((\d+) bytes\) buffered/.exec((deliveries[0].result as { error: string }).error);
      expect(Number(kept?.[1])).toBe(counters.buffered);
      expect(Number(kept?.[2])).toBeLessThanOrEqual(bound);
    }
    const before = { ...counters, dropped: { ...counters.dropped } };
    expect(before.dropped.buffer_full).toBeGreaterThan(8 * 90);
    expect(Object.keys(before.dropped)).toEqual(['buffer_full']);
    await rx.setMode({ kind: 'ok' });
    await sleep(60);
    const last = await agent.runCycle(at(12));
    expect(last.deliveries[0].result.status).toBe('ok');
    // What was buffered arrives, oldest first, then the new cycle; what was dropped never does.
    const ts = timestamps();
    expect(ts[ts.length - 1]).toBe(last.batch.timestamp);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
    expect(ts[0]).toBeGreaterThan(batches[0].timestamp);
    // The new cycle's items pushed the oldest buffered ones out once more: every point is
    // accounted for as delivered or dropped.
    const newItems = rx.items.filter((i) => i.timestamp === last.batch.timestamp).length;
    const droppedNow = counters.dropped.buffer_full - before.dropped.buffer_full;
    expect(rx.items.length).toBe(before.buffered + newItems - droppedNow);
    expect(counters).toMatchObject({ buffered: 0, sent: rx.items.length });
    await sink.close();
  });
});

describe('FalconSink behind the agent while its transfer is down (it queues, then answers 200 after ~14 s)', () => {
  const timestamps = () => [...new Set(rx.items.map((i) => i.timestamp))];
  /** Each item once: no metric and tags arrive twice for one cycle. */
  const copies = () => {
    const seen = new Map<string, number>();
    for (const i of rx.items) seen.set(`${i.timestamp} ${i.metric} ${i.rawTags}`, (seen.get(`${i.timestamp} ${i.metric} ${i.rawTags}`) ?? 0) + 1);
    return Math.max(...seen.values());
  };

  it('with the default settings and cycle deadline (interval 60: 30 s), every item arrives once and is counted as sent', async () => {
    const defaults = Object.fromEntries(Object.entries(falcon.config.schema).map(([k, v]) => [k, (v as { default: unknown }).default])) as FalconSettings;
    const { agent, counters } = setup(rx.agentUrl, { ...defaults, url: rx.agentUrl }, 30_000);
    await rx.setMode(agentTransferDown());
    const { batch, deliveries } = await agent.runCycle(at(0));
    expect(deliveries[0].result).toEqual({ status: 'ok', sent: rx.items.length });
    expect(copies()).toBe(1);
    expect(kernelItems(rx.items)).toEqual(kernelSamples(batch));
    expect(counters).toMatchObject({ sent: rx.items.length, retried: 0, dropped: {}, buffered: 0 });
  }, 40_000);

  it.each([
    ['the request timeout', { timeout: 0.3 }, 2000],
    ['the cycle deadline', { timeout: 30 }, 400],
  ] as [string, Partial<FalconSettings>, number][])('a request cut off by %s after it was sent is not resent: one copy, counted as uncertain, not as undelivered', async (_what, over, cycleMs) => {
    const { agent, counters } = setup(rx.agentUrl, { ...over, attempts: 3 }, cycleMs);
    await rx.setMode(agentTransferDown(cycleMs + 500));
    const first = await agent.runCycle(at(0));
    // The sink's own verdict, or, when the cycle's deadline cut it, the cycle's.
    expect(first.deliveries[0].result).toMatchObject({ error: expect.stringMatching(cycleMs < 1000 ? /cycle deadline/ : /may have queued it.*not resent/) });
    await sleep(50);
    const n = rx.items.length; // the agent took them: in truth delivered
    expect(n).toBeGreaterThan(90);
    expect(counters).toMatchObject({ sent: 0, retried: 0, buffered: 0, dropped: { uncertain: n } });
    await rx.setMode({ kind: 'ok' });
    const second = await agent.runCycle(at(1));
    expect(second.deliveries[0].result.status).toBe('ok');
    expect(copies()).toBe(1);
    expect(timestamps()).toEqual([first.batch.timestamp, second.batch.timestamp]);
    expect(rx.items.find((i) => i.metric === 'sockpulse.agent.sink.dropped' && i.tags.reason === 'uncertain')).toMatchObject({ value: n, tags: { sink: 'falcon' } });
  });

  it('a transfer answers at once: there a timed-out request is still retried', async () => {
    const { agent, counters } = setup(rx.transferUrl, { timeout: 0.3, attempts: 2 }, 2000);
    await rx.setMode({ kind: 'slow', ms: 2000, accept: 'after' });
    expect((await agent.runCycle(at(0))).deliveries[0].result).toMatchObject({ status: 'retryable' });
    expect(counters.dropped).toEqual({});
    expect(counters.buffered).toBeGreaterThan(90);
  });
});

describe('FalconSink.close', () => {
  it('makes one last drain and refuses writes afterwards', async () => {
    const { agent, sink, counters } = setup(rx.transferUrl, {}, 1000);
    await rx.setMode({ kind: 'status', status: 502 });
    await agent.runCycle(at(0));
    const buffered = counters.buffered;
    await rx.setMode({ kind: 'ok' });
    await sleep(60);
    await sink.close();
    expect(rx.items).toHaveLength(buffered);
    expect(counters.buffered).toBe(0);
    expect(await sink.write(await fixtureBatch(), AbortSignal.timeout(1000))).toEqual({ status: 'failed', error: 'write after close' });
  });

  it('gives up within the timeout when the backend is down, counting what is lost', async () => {
    const { agent, sink, counters, lines } = setup(rx.transferUrl, { timeout: 0.3 }, 1000);
    await rx.setMode({ kind: 'refuse' });
    await agent.runCycle(at(0));
    const buffered = counters.buffered;
    const t = Date.now();
    await sink.close();
    expect(Date.now() - t).toBeLessThan(800);
    expect(counters.dropped).toEqual({ shutdown: buffered });
    expect(lines.some((l) => l.includes('not delivered'))).toBe(true);
  });

  it('rejects a bad url, endpoint template or prefix, naming the key', () => {
    expect(() => resolveSection(falcon, settings('127.0.0.1:1988/v1/push'))).toThrow(/sinks\.falcon\.url/);
    expect(() => resolveSection(falcon, settings('ftp://h/v1/push'))).toThrow(/sinks\.falcon\.url/);
    expect(() => resolveSection(falcon, settings(rx.agentUrl, { endpoint: '{node}' }))).toThrow(/sinks\.falcon\.endpoint/);
    expect(() => resolveSection(falcon, settings(rx.agentUrl, { prefix: 'a/b' }))).toThrow(/sinks\.falcon\.prefix/);
  });
});
