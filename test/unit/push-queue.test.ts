// The push sinks' buffer: bounded in bytes, compact, ordered, retrying with backoff, counting every drop.
import { DEFLATE, PayloadCodec, PushQueue, PushQueueOptions, SendOutcome } from '../../src/deliver/push-queue';
import { SelfStats } from '../../src/core/self-stats';

/** Keeps bodies as they are, so the bound's arithmetic is visible (the default codec deflates). */
const PLAIN: PayloadCodec = { pack: (b) => b, unpack: (b) => Buffer.from(b) };

/** A payload: its id as a 10-byte body, and its points (not its bytes: the bound counts bytes). */
type P = { id: string; n: number };
const p = (id: string, n = 10): P => ({ id, n });
const body = (id: string): string => id.padEnd(10, '.');

function queue(script: (payload: P) => SendOutcome | Promise<SendOutcome>, over: Partial<PushQueueOptions> = {}) {
  const counters = new SelfStats().sink('t');
  const sent: string[] = [];
  let clock = 1_700_000_000_000;
  const q = new PushQueue({
    send: async (b, n) => {
      const payload = { id: b.toString().replace(/\.+$/, ''), n };
      const out = await script(payload);
      if (out.status === 'ok') sent.push(payload.id);
      return out;
    },
    maxBytes: 35,
    codec: PLAIN,
    counters,
    backoff: { initialMs: 1, maxMs: 4 },
    attemptsPerDrain: 3,
    now: () => clock,
    random: () => 0.999,
    ...over,
  });
  const push = (...ps: P[]): void => ps.forEach((x) => q.push(body(x.id), x.n));
  return { q, push, counters, sent, advance: (ms: number) => (clock += ms) };
}
const forever = () => AbortSignal.timeout(10_000);

describe('PushQueue', () => {
  it('sends everything in order and counts it', async () => {
    const { q, push, counters, sent } = queue(() => ({ status: 'ok' }));
    push(p('a'), p('b'), p('c'));
    expect(await q.drain(forever())).toEqual({ status: 'ok', sent: 30 });
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(counters).toMatchObject({ sent: 30, buffered: 0, last_success: 1_700_000_000 });
  });

  it('drops the oldest payloads when over its bound in bytes, and counts their points', () => {
    const { q, push, counters } = queue(() => ({ status: 'ok' }));
    push(p('a', 7), p('b', 8), p('c', 9), p('d', 11));
    expect(q.bufferedBytes).toBe(30);
    expect(q.bufferedPoints).toBe(28);
    expect(counters.dropped).toEqual({ buffer_full: 7 });
    expect(counters.buffered).toBe(28);
  });

  it('tries a payload larger than the whole bound once, and does not keep it', async () => {
    const tried: string[] = [];
    const { q, push, counters } = queue((x) => (tried.push(x.id), { status: 'retryable', error: 'down' }), { maxBytes: 5, attemptsPerDrain: 1 });
    push(p('a'));
    expect(q.bufferedPoints).toBe(10); // kept until its attempt
    expect(await q.drain(forever())).toEqual({ status: 'retryable', error: '0 points (0 bytes) buffered: down' });
    expect(tried).toEqual(['a']);
    expect(counters.dropped).toEqual({ buffer_full: 10 });
    expect(counters.buffered).toBe(0);
  });

  it('never drops the payload an attempt is under way for', async () => {
    let release!: (o: SendOutcome) => void;
    const { q, push, counters, sent } = queue((x) => (x.id === 'a' ? new Promise<SendOutcome>((r) => (release = r)) : { status: 'ok' }), { maxBytes: 25 });
    push(p('a'));
    const draining = q.drain(forever());
    await new Promise((r) => setImmediate(r));
    push(p('b'), p('c'), p('d')); // 40 bytes: b and c make room, a is in flight
    expect(counters.dropped).toEqual({ buffer_full: 20 });
    release({ status: 'ok' });
    expect(await draining).toEqual({ status: 'ok', sent: 20 });
    expect(sent).toEqual(['a', 'd']);
    expect(q.bufferedBytes).toBe(0);
  });

  it('keeps payloads deflated by default and sends them byte for byte', async () => {
    const bodies: string[] = [];
    const q = new PushQueue({
      send: async (b) => (bodies.push(b.toString()), { status: 'ok' }),
      maxBytes: 1 << 20,
      counters: new SelfStats().sink('t'),
      backoff: { initialMs: 1, maxMs: 4 },
      attemptsPerDrain: 1,
    });
    const items = Array.from({ length: 500 }, (_, i) => ({ endpoint: 'h', metric: `sockpulse.m${i % 18}`, value: i, tags: `scope=netns,netns_name=netns-${i >> 4}` }));
    const json = JSON.stringify(items);
    q.push(json, 500);
    expect(q.bufferedBytes).toBeLessThan(json.length / 10);
    expect(await q.drain(forever())).toEqual({ status: 'ok', sent: 500 });
    expect(bodies).toEqual([json]);
    const kept = DEFLATE.pack(Buffer.from(json));
    expect(kept.buffer.byteLength).toBe(kept.byteLength); // its own memory, not a view of zlib's 16 KiB chunk
  });

  it('keeps payloads across a backend outage and delivers them on recovery', async () => {
    let up = false;
    const { q, push, counters, sent, advance } = queue(() => (up ? { status: 'ok' } : { status: 'retryable', error: 'ECONNREFUSED' }));
    push(p('a'), p('b'));
    const r = await q.drain(forever());
    expect(r).toEqual({ status: 'retryable', error: '20 points (20 bytes) buffered: ECONNREFUSED' });
    expect(counters.retried).toBe(3); // attemptsPerDrain
    expect(await q.drain(forever())).toMatchObject({ status: 'retryable', error: expect.stringMatching(/backing off/) });
    advance(10);
    up = true;
    push(p('c'));
    expect(await q.drain(forever())).toEqual({ status: 'ok', sent: 30 });
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(counters.dropped).toEqual({});
  });

  it('drops a payload the backend rejects for good without blocking the rest', async () => {
    const { q, push, counters, sent } = queue((x) => (x.id === 'bad' ? { status: 'failed', error: 'HTTP 400' } : { status: 'ok' }));
    push(p('a'), p('bad'), p('c'));
    expect(await q.drain(forever())).toEqual({ status: 'failed', error: 'HTTP 400' });
    expect(sent).toEqual(['a', 'c']);
    expect(counters.dropped).toEqual({ rejected: 10 });
    expect(counters.buffered).toBe(0);
  });

  it('counts what the backend reports invalid', async () => {
    const { q, push, counters } = queue(() => ({ status: 'ok', invalid: 2 }));
    push(p('a'));
    await q.drain(forever());
    expect(counters.invalid).toBe(2);
  });

  it('tries once more at shutdown even while backing off', async () => {
    let up = false;
    const { q, push, sent } = queue(() => (up ? { status: 'ok' } : { status: 'retryable', error: 'down' }), { attemptsPerDrain: 1, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    push(p('a'));
    await q.drain(forever());
    up = true;
    expect(await q.drain(forever())).toMatchObject({ status: 'retryable', error: expect.stringMatching(/backing off/) });
    expect(await q.drain(forever(), { ignoreBackoff: true })).toEqual({ status: 'ok', sent: 10 });
    expect(sent).toEqual(['a']);
  });

  it('stops at the deadline and keeps the rest', async () => {
    const { q, push } = queue(() => ({ status: 'ok' }));
    push(p('a'));
    const ac = new AbortController();
    ac.abort();
    expect(await q.drain(ac.signal)).toMatchObject({ status: 'retryable', error: expect.stringMatching(/deadline/) });
    expect(q.bufferedPoints).toBe(10);
  });

  it('backs off exponentially up to the cap', async () => {
    const { q, push, advance } = queue(() => ({ status: 'retryable', error: 'down' }), { attemptsPerDrain: 1, backoff: { initialMs: 100, maxMs: 400 } });
    push(p('a'));
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
    const { q, push } = queue(() => {
      calls++;
      return { status: 'ok' };
    });
    push(p('a'));
    const [r1, r2] = await Promise.all([q.drain(forever()), q.drain(forever())]);
    expect(r1).toBe(r2);
    expect(calls).toBe(1);
  });

  it('also bounds the points when the deprecated buffer_points is set', () => {
    const { q, push, counters } = queue(() => ({ status: 'ok' }), { maxBytes: 1000, maxPoints: 25 });
    push(p('a'), p('b'), p('c')); // 30 bytes, far under the byte bound; 30 points over the points bound
    expect(q.bufferedPoints).toBe(20);
    expect(counters.dropped).toEqual({ buffer_full: 10 });
  });

  it('counts a payload dropped for good under the reason its sender gives', async () => {
    const { q, push, counters } = queue(() => ({ status: 'failed', reason: 'uncertain', error: 'timed out after sending' }));
    push(p('a'));
    await q.drain(forever());
    expect(counters.dropped).toEqual({ uncertain: 10 });
  });

  it('hands its kept payloads to another queue, which sends them first and holds them to its bound', async () => {
    const old = queue(() => ({ status: 'retryable', error: 'down' }), { codec: DEFLATE, maxBytes: 1 << 20 });
    old.push(p('a'), p('b'));
    const heir = queue(() => ({ status: 'ok' }), { codec: DEFLATE, maxBytes: 1 << 20 });
    heir.push(p('c'));
    const bytes = old.q.bufferedBytes;
    heir.q.adopt(old.q.takeAll());
    expect(old.q.bufferedPoints).toBe(0);
    expect(old.counters.buffered).toBe(0);
    expect(heir.q.bufferedPoints).toBe(30);
    expect(heir.q.bufferedBytes).toBeGreaterThan(bytes);
    expect(await heir.q.drain(forever())).toEqual({ status: 'ok', sent: 30 });
    expect(heir.sent).toEqual(['a', 'b', 'c']);
    expect({ ...old.counters.dropped, ...heir.counters.dropped }).toEqual({});

    const small = queue(() => ({ status: 'ok' }));
    small.q.adopt([p('x'), p('y'), p('z'), p('w')].map((x) => ({ data: Buffer.from(body(x.id)), length: 10, points: x.n })));
    expect(small.q.bufferedBytes).toBe(30); // maxBytes 35: the oldest adopted one goes
    expect(small.counters.dropped).toEqual({ buffer_full: 10 });
  });
});
