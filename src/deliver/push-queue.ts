// A bounded buffer of unsent payloads with retries, shared by the push sinks (Open-Falcon, OTLP).
// - Bounded in bytes (`buffer_bytes`), not points: when full, the oldest payloads are dropped and
//   counted by their points (`buffer_full`), so memory stays flat while a backend is down. The
//   newest payload is always tried once, even when it alone is larger than the bound; it is kept
//   for a retry only if it fits.
// - Payloads are kept compressed (raw DEFLATE, level 1) and inflated again for each attempt. A
//   cycle's points repeat their names and labels from item to item, so this keeps them some 30
//   times smaller than as request bodies: 1000 namespaces, 18 000 points a cycle, are ~3 MB of
//   Open-Falcon JSON or ~1.8 MB of OTLP protobuf, and ~100 KB or ~72 KB deflated (5.5 and 4.0
//   bytes a point, measured with bench:daemon: BENCHMARKS.md, "The whole daemon").
//   The bytes counted are those of the compressed payloads, each in its own exactly sized buffer.
// - Delivery is in order, oldest first; a payload the backend rejects for good (HTTP 400) is
//   dropped and counted (`rejected`) and does not block the ones behind it.
// - Retryable failures (connection errors, timeouts, 5xx) back off exponentially with jitter;
//   within one write a few attempts are made while the cycle's deadline allows, then the payload
//   waits for the next cycle. Nothing here ever blocks the collection loop beyond that deadline.
import { deflateRawSync, inflateRawSync } from 'zlib';
import { SinkResult } from '../core/model';
import { SinkCounters, countDrop } from '../core/self-stats';

export type SendOutcome =
  | { status: 'ok'; invalid?: number }
  | { status: 'retryable'; error: string }
  /** Dropped, not retried; counted under `reason` (default `rejected`). */
  | { status: 'failed'; error: string; reason?: string };

/** How payloads are kept: `pack` on the way in, `unpack` (given the body's length) before each attempt. */
export interface PayloadCodec {
  pack(body: Uint8Array): Uint8Array;
  unpack(kept: Uint8Array, length: number): Buffer;
}

/**
 * Raw DEFLATE at level 1, with a 4 KiB window and memLevel 5: zlib's state is then ~40 KB instead
 * of ~270 KB, under malloc's mmap threshold, so compressing ~40 payloads a cycle does not churn
 * large blocks through the C heap. These payloads repeat within a few items (a namespace's labels
 * and the metric names), so the ratio stays ~30× (Open-Falcon) and ~27× (OTLP), against ~35× and
 * ~26× at the defaults and ~36× at level 6, which costs 2–3 times the CPU (measured on one cycle at
 * 1000 namespaces when this was written).
 */
export const DEFLATE: PayloadCodec = {
  pack(body) {
    const z = deflateRawSync(body, { level: 1, windowBits: 12, memLevel: 5 });
    // zlib hands back a view of its 16 KiB output chunk: keep only the bytes, in their own memory.
    if (z.buffer.byteLength === z.byteLength) return z;
    const own = Buffer.allocUnsafeSlow(z.byteLength);
    z.copy(own);
    return own;
  },
  // One output buffer of the known length (+1: zlib asks for another when the first is exactly full).
  unpack: (kept, length) => inflateRawSync(kept, { chunkSize: Math.max(64, length + 1) }),
};

export interface PushQueueOptions {
  /** One attempt at a payload: `body` is the request body as it was pushed. */
  send(body: Buffer, points: number, signal: AbortSignal): Promise<SendOutcome>;
  /** Bound on the bytes kept (compressed), see the header. */
  maxBytes: number;
  /** A further bound on the points kept (the deprecated `buffer_points`); none when undefined. */
  maxPoints?: number;
  counters: SinkCounters;
  /** First retry delay and the cap, in ms; each delay is scaled by a random factor in [0.5, 1). */
  backoff: { initialMs: number; maxMs: number };
  /** Attempts at one payload within one drain before it waits for the next write. */
  attemptsPerDrain: number;
  codec?: PayloadCodec;
  now?: () => number;
  random?: () => number;
}

/** A payload as kept: compressed, with what it takes to send and count it. */
export interface KeptPayload {
  data: Uint8Array;
  /** Bytes of the body as pushed. */
  length: number;
  points: number;
}

export class PushQueue {
  private readonly queue: KeptPayload[] = [];
  private readonly codec: PayloadCodec;
  private points = 0;
  private bytes = 0;
  /** The payload an attempt is under way for: never dropped by the bound meanwhile. */
  private inFlight: KeptPayload | undefined;
  private failures = 0;
  private notBefore = 0;
  private draining: Promise<SinkResult> | undefined;

  constructor(private readonly o: PushQueueOptions) {
    this.codec = o.codec ?? DEFLATE;
  }

  get bufferedPoints(): number {
    return this.points;
  }

  /** Bytes kept (compressed). */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /**
   * Keeps one request body of `points` points behind what is still unsent. Older payloads make
   * room for it; it is itself dropped only after its first attempt (see drain) if it does not fit.
   */
  push(body: string | Uint8Array, points: number): void {
    const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const data = this.codec.pack(raw);
    this.queue.push({ data, length: raw.byteLength, points });
    this.points += points;
    this.bytes += data.byteLength;
    this.trim(1);
    this.o.counters.buffered = this.points;
  }

  /** Resolves when no drain is under way (a reload waits for it before taking the payloads). */
  async idle(): Promise<void> {
    await this.draining;
  }

  /** Reload: removes and returns every kept payload, oldest first, counting nothing. */
  takeAll(): KeptPayload[] {
    const all = this.queue.splice(0);
    this.points = 0;
    this.bytes = 0;
    this.o.counters.buffered = 0;
    return all;
  }

  /** Reload: payloads a previous instance kept, placed before this one's (they are older). */
  adopt(payloads: KeptPayload[]): void {
    this.queue.unshift(...payloads);
    for (const p of payloads) {
      this.points += p.points;
      this.bytes += p.data.byteLength;
    }
    this.trim(0); // drops the oldest if the bound is now exceeded
    this.o.counters.buffered = this.points;
  }

  /**
   * Sends what is buffered, oldest first. One drain at a time; a second caller shares the first.
   * `ignoreBackoff` (a last drain at shutdown) tries once even while an earlier failure's backoff runs.
   * Afterwards what is left is held to the bound.
   */
  drain(signal: AbortSignal, opts: { ignoreBackoff?: boolean } = {}): Promise<SinkResult> {
    this.draining ??= this.run(signal, opts.ignoreBackoff ?? false).finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async run(signal: AbortSignal, ignoreBackoff: boolean): Promise<SinkResult> {
    const r = await this.attempt(signal, ignoreBackoff);
    this.trim(0);
    if (!('pending' in r)) return r;
    return { status: 'retryable', error: `${this.points} points (${this.bytes} bytes) buffered: ${r.pending}` };
  }

  private async attempt(signal: AbortSignal, ignoreBackoff: boolean): Promise<SinkResult | { pending: string }> {
    const now = this.o.now ?? Date.now;
    let sent = 0;
    let rejected: string | undefined;
    let attempts = 0;
    // A write that comes while an earlier failure's backoff runs leaves the backend alone.
    if (!ignoreBackoff && this.queue.length > 0 && now() < this.notBefore) return { pending: `backing off for ${this.notBefore - now()} ms` };
    while (this.queue.length > 0) {
      if (signal.aborted) return { pending: 'deadline reached' };
      const head = this.queue[0];
      let out: SendOutcome;
      this.inFlight = head;
      try {
        out = await this.o.send(this.codec.unpack(head.data, head.length), head.points, signal);
      } finally {
        this.inFlight = undefined;
      }
      if (out.status === 'retryable') {
        this.failures++;
        this.o.counters.retried++;
        attempts++;
        const delay = this.delay();
        this.notBefore = now() + delay;
        if (attempts >= this.o.attemptsPerDrain) return { pending: out.error };
        await sleep(delay, signal);
        continue;
      }
      this.remove(0);
      this.failures = 0;
      this.notBefore = 0;
      attempts = 0;
      const n = head.points;
      if (out.status === 'failed') {
        countDrop(this.o.counters, out.reason ?? 'rejected', n);
        rejected = out.error;
        continue;
      }
      sent += n;
      this.o.counters.sent += n;
      this.o.counters.invalid += out.invalid ?? 0;
      this.o.counters.last_success = Math.floor(now() / 1000);
    }
    return rejected !== undefined ? { status: 'failed', error: rejected } : { status: 'ok', sent };
  }

  /** Drops the oldest payloads (not the one in flight, nor the newest `keep`) while over the bound. */
  private trim(keep: number): void {
    while (this.bytes > this.o.maxBytes || (this.o.maxPoints !== undefined && this.points > this.o.maxPoints)) {
      const i = this.queue[0] === this.inFlight ? 1 : 0;
      if (this.queue.length - i <= keep) break;
      countDrop(this.o.counters, 'buffer_full', this.remove(i).points);
    }
  }

  private remove(i: number): KeptPayload {
    const [k] = this.queue.splice(i, 1);
    this.points -= k.points;
    this.bytes -= k.data.byteLength;
    this.o.counters.buffered = this.points;
    return k;
  }

  private delay(): number {
    const { initialMs, maxMs } = this.o.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(base * (0.5 + 0.5 * (this.o.random ?? Math.random)()));
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
