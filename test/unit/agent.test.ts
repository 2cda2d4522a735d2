// The tick's contract: never overlaps (a skipped tick is counted, not queued), always has a
// deadline, never rejects, and one failing or slow sink does not hold up another.
// Discovery here is the real procfs source over the fixture tree, made slow or broken by a
// wrapper; sinks record what they were given.
import * as path from 'path';
import { Writable } from 'stream';
import * as v8 from 'v8';
import * as vm from 'vm';
import { setTimeout as delay } from 'timers/promises';
import { Agent } from '../../src/schedule/tick';
import { CollectStage } from '../../src/collect/stage';
import { ProcfsDiscovery } from '../../src/discover/procfs';
import { createLogger } from '../../src/core/log';
import { Batch, Discovery, DiscoveryResult, Sink, SinkResult } from '../../src/core/model';

const ROOT = path.join(__dirname, '..', 'fixtures', 'proctree');
const procfs = new ProcfsDiscovery({ procRoot: ROOT, copyLabels: [], filter: () => true, hasIncludeFilter: false });

class Slow implements Discovery {
  readonly name = 'slow';
  calls = 0;
  constructor(private readonly ms: number, private readonly fail = false) {}
  async discover(signal: AbortSignal): Promise<DiscoveryResult> {
    this.calls++;
    // Past the deadline the agent stops waiting; the sleep ends too, so no timer outlives the test.
    await delay(this.ms, undefined, { signal }).catch(() => undefined);
    if (this.fail) throw new Error('boom');
    return procfs.discover();
  }
}

class Recorder implements Sink {
  batches: Batch[] = [];
  constructor(readonly name: string, private readonly behave: () => Promise<SinkResult> = async () => ({ status: 'ok', sent: 1 })) {}
  async start() {}
  async write(b: Batch): Promise<SinkResult> {
    this.batches.push(b);
    return this.behave();
  }
  async close() {}
}

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, log: createLogger('debug', stream) };
}

function agent(discovery: Discovery, sinks: Sink[], timeoutMs = 2000, log = createLogger('silent')) {
  return new Agent({ discovery, collect: new CollectStage(ROOT), sinks, log, hostname: 'h', interval: { period: 1, fixed: true }, cycleTimeoutMs: timeoutMs });
}

describe('Agent.tick', () => {
  it('skips and counts ticks that arrive while a cycle runs, and logs once', async () => {
    const slow = new Slow(300);
    const { lines, log } = logSink();
    const a = agent(slow, [], 2000, log);
    a.tick(new Date());
    a.tick(new Date());
    a.tick(new Date());
    await a.idle();
    expect(slow.calls).toBe(1);
    expect(a.ticksSkipped).toBe(2);
    expect(lines.filter((l) => /ticks were skipped/.test(String(l.msg)))).toEqual([expect.objectContaining({ skipped: 2 })]);
    a.tick(new Date()); // the next tick after the cycle ends runs again
    await a.idle();
    expect(slow.calls).toBe(2);
  });
});

describe('Agent.missedTick', () => {
  it('counts a tick the scheduler could not run like a skipped one; said with the running cycle, or at once', async () => {
    const { lines, log } = logSink();
    const a = agent(new Slow(200), [], 2000, log);
    a.tick(new Date());
    a.missedTick();
    await a.idle();
    expect(lines.filter((l) => /ticks were skipped/.test(String(l.msg)))).toEqual([expect.objectContaining({ skipped: 1 })]);
    a.missedTick();
    expect(a.ticksSkipped).toBe(2);
    expect(lines.filter((l) => /busy past a tick/.test(String(l.msg)))).toEqual([expect.objectContaining({ skipped: 1 })]);
  });
});

describe('Agent.runCycle', () => {
  it('ends a cycle whose discovery outlives the deadline, with a timeout error and no targets', async () => {
    const sink = new Recorder('r');
    const t0 = Date.now();
    const { batch } = await agent(new Slow(5000), [sink], 200).runCycle();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(batch.results).toEqual([]);
    expect(batch.errors).toEqual([expect.objectContaining({ stage: 'discover', code: 'ETIMEDOUT' })]);
    expect(sink.batches).toHaveLength(1); // the sinks still hear about the failed cycle
  });

  it('does not reject when discovery throws', async () => {
    const { batch } = await agent(new Slow(0, true), []).runCycle();
    expect(batch.errors[0]).toMatchObject({ stage: 'discover', code: 'EDISCOVER', message: 'boom' });
  });

  it('does not reject when discovery throws before returning a promise', async () => {
    const sync: Discovery = {
      name: 'sync',
      discover(): Promise<DiscoveryResult> {
        throw new Error('thrown, not rejected');
      },
    };
    const { batch } = await agent(sync, []).runCycle();
    expect(batch.errors).toEqual([expect.objectContaining({ stage: 'discover', code: 'EDISCOVER', message: 'thrown, not rejected' })]);
  });

  it('does not reject when the collect stage throws: a collect stage error, and the sinks still get the batch', async () => {
    class Throwing extends CollectStage {
      override run(): never {
        throw Object.assign(new Error('EBADF: bad file descriptor, close'), { code: 'EBADF' });
      }
    }
    const sink = new Recorder('r');
    const { lines, log } = logSink();
    const a = new Agent({ discovery: procfs, collect: new Throwing(ROOT), sinks: [sink], log, hostname: 'h', interval: { period: 1, fixed: true }, cycleTimeoutMs: 2000 });
    const { batch } = await a.runCycle();
    expect(batch.results).toEqual([]);
    expect(batch.errors).toEqual([{ stage: 'collect', code: 'EBADF', message: 'EBADF: bad file descriptor, close' }]);
    expect(sink.batches).toEqual([batch]);
    expect(a.stats.errors.collect).toBe(1);
    // Through the scheduler's entry point: the cycle ends, nothing escapes.
    a.tick(new Date());
    await expect(a.idle()).resolves.toBeUndefined();
    expect(sink.batches).toHaveLength(2);
    expect(lines.filter((l) => l.stage === 'collect' && l.code === 'EBADF')).toHaveLength(2);
  });

  it('delivers to every sink although one throws and one hangs past the deadline', async () => {
    const good = new Recorder('good');
    const throws = new Recorder('throws', async () => {
      throw new Error('socket closed');
    });
    const hangs = new Recorder('hangs', () => new Promise(() => {}));
    const { batch, deliveries } = await agent(procfs, [throws, hangs, good], 300).runCycle();
    expect(good.batches).toEqual([batch]);
    expect(deliveries).toEqual([
      { sink: 'throws', result: { status: 'failed', error: 'socket closed' } },
      { sink: 'hangs', result: { status: 'retryable', error: 'cycle deadline passed' } },
      { sink: 'good', result: { status: 'ok', sent: 1 } },
    ]);
  });

  it('keeps its deadline through a full garbage collection during the cycle', async () => {
    // AbortSignal.any() holds its sources weakly: a timeout signal only it held was collected by a
    // full GC and never fired, and a hanging sink then held the cycle forever.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const hangs = new Recorder('hangs', () => new Promise(() => {}));
    const cycle = agent(procfs, [hangs], 300).runCycle();
    await delay(50);
    gc();
    const ended = await Promise.race([cycle.then(() => 'ended'), delay(3000).then(() => 'still running after 3 s')]);
    expect(ended).toBe('ended');
  });

  it('aligns the timestamp to the interval', async () => {
    const a = new Agent({
      discovery: procfs,
      collect: new CollectStage(ROOT),
      sinks: [],
      log: createLogger('silent'),
      hostname: 'h',
      interval: { period: 60, fixed: true },
      cycleTimeoutMs: 2000,
    });
    const { batch } = await a.runCycle(new Date(1_700_000_059_000));
    expect(batch.timestamp).toBe(1_700_000_040);
  });
});
