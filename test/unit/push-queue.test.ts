// The push sinks' buffer: bounded, ordered, retrying with backoff, counting every drop.
import { PushQueue, SendOutcome } from '../../src/deliver/push-queue';
import { SelfStats } from '../../src/core/self-stats';

type P = { id: string; n: number };
const p = (id: string, n = 10): P => ({ id, n });

function queue(script: (payload: P) => SendOutcome, over: Partial<ConstructorParameters<typeof PushQueue<P>>[0]> = {}) {
  const counters = new SelfStats().sink('t');
  const sent: string[] = [];
  let clock = 1_700_000_000_000;
  const q = new PushQueue<P>({
    send: async (payload) => {
      const out = script(payload);
      if (out.status === 'ok') sent.push(payload.id);
      return out;
    },
    size: (x) => x.n,
    maxPoints: 35,
    counters,
    backoff: { initialMs: 1, maxMs: 4 },
    attemptsPerDrain: 3,
    now: () => clock,
    random: () => 0.999,
    ...over,
  });
  return { q, counters, sent, advance: (ms: number) => (clock += ms) };
}
const forever = () => AbortSignal.timeout(10_000);

describe('PushQueue', () => {
  it('sends everything in order and counts it', async () => {
    const { q, counters, sent } = queue(() => ({ status: 'ok' }));
    q.push([p('a'), p('b'), p('c')]);
    expect(await q.drain(forever())).toEqual({ status: 'ok', sent: 30 });
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(counters).toMatchObject({ sent: 30, buffered: 0, last_success: 1_700_000_000 });
  });

  it('drops the oldest payloads when over its bound, and counts them', () => {
    const { q, counters } = queue(() => ({ status: 'ok' }));
    q.push([p('a'), p('b'), p('c'), p('d')]);
    expect(q.bufferedPoints).toBe(30);
    expect(counters.dropped).toEqual({ buffer_full: 10 });
    expect(counters.buffered).toBe(30);
  });

  it('keeps payloads across a backend outage and delivers them on recovery', async () => {
    let up = false;
    const { q, counters, sent, advance } = queue(() => (up ? { status: 'ok' } : { status: 'retryable', error: 'ECONNREFUSED' }));
    q.push([p('a'), p('b')]);
    const r = await q.drain(forever());
    expect(r).toEqual({ status: 'retryable', error: '20 points buffered: ECONNREFUSED' });
    expect(counters.retried).toBe(3); // attemptsPerDrain
    expect(await q.drain(forever())).toMatchObject({ status: 'retryable', error: expect.stringMatching(/backing off/) });
    advance(10);
    up = true;
    q.push([p('c')]);
    expect(await q.drain(forever())).toEqual({ status: 'ok', sent: 30 });
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(counters.dropped).toEqual({});
  });

  it('drops a payload the backend rejects for good without blocking the rest', async () => {
    const { q, counters, sent } = queue((x) => (x.id === 'bad' ? { status: 'failed', error: 'HTTP 400' } : { status: 'ok' }));
    q.push([p('a'), p('bad'), p('c')]);
    expect(await q.drain(forever())).toEqual({ status: 'failed', error: 'HTTP 400' });
    expect(sent).toEqual(['a', 'c']);
    expect(counters.dropped).toEqual({ rejected: 10 });
    expect(counters.buffered).toBe(0);
  });

  it('counts what the backend reports invalid', async () => {
    const { q, counters } = queue(() => ({ status: 'ok', invalid: 2 }));
    q.push([p('a')]);
    await q.drain(forever());
    expect(counters.invalid).toBe(2);
  });

  it('tries once more at shutdown even while backing off', async () => {
    let up = false;
    const { q, sent } = queue(() => (up ? { status: 'ok' } : { status: 'retryable', error: 'down' }), { attemptsPerDrain: 1, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    q.push([p('a')]);
    await q.drain(forever());
    up = true;
    expect(await q.drain(forever())).toMatchObject({ status: 'retryable', error: expect.stringMatching(/backing off/) });
    expect(await q.drain(forever(), { ignoreBackoff: true })).toEqual({ status: 'ok', sent: 10 });
    expect(sent).toEqual(['a']);
  });

  it('stops at the deadline and keeps the rest', async () => {
    const { q } = queue(() => ({ status: 'ok' }));
    q.push([p('a')]);
    const ac = new AbortController();
    ac.abort();
    expect(await q.drain(ac.signal)).toMatchObject({ status: 'retryable', error: expect.stringMatching(/deadline/) });
    expect(q.bufferedPoints).toBe(10);
  });

  it('backs off exponentially up to the cap', async () => {
    const { q, advance } = queue(() => ({ status: 'retryable', error: 'down' }), { attemptsPerDrain: 1, backoff: { initialMs: 100, maxMs: 400 } });
    q.push([p('a')]);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      await q.drain(forever());
      const r = await q.drain(forever());
      const ms = Number(/backing off for (\d+) ms/.exec((r as { error: string }).error)![1]);
      waits.push(ms);
      advance(ms);
    }
    expect(waits).toEqual([100, 200, 400, 400, 400]);
  });

  it('runs one drain at a time: a second caller shares the first', async () => {
    let calls = 0;
    const { q } = queue(() => {
      calls++;
      return { status: 'ok' };
    });
    q.push([p('a')]);
    const [r1, r2] = await Promise.all([q.drain(forever()), q.drain(forever())]);
    expect(r1).toBe(r2);
    expect(calls).toBe(1);
  });
});
