// A bounded buffer of unsent payloads with retries, shared by the push sinks (Open-Falcon, OTLP).
// - Bounded by points, not payloads: when full, the oldest payloads are dropped and counted
//   (`buffer_full`), so memory stays flat while a backend is down.
// - Delivery is in order, oldest first; a payload the backend rejects for good (HTTP 400) is
//   dropped and counted (`rejected`) and does not block the ones behind it.
// - Retryable failures (connection errors, timeouts, 5xx) back off exponentially with jitter;
//   within one write a few attempts are made while the cycle's deadline allows, then the payload
//   waits for the next cycle. Nothing here ever blocks the collection loop beyond that deadline.
import { SinkResult } from '../core/model';
import { SinkCounters, countDrop } from '../core/self-stats';

export type SendOutcome =
  | { status: 'ok'; invalid?: number }
  | { status: 'retryable'; error: string }
  /** Dropped, not retried; counted under `reason` (default `rejected`). */
  | { status: 'failed'; error: string; reason?: string };

export interface PushQueueOptions<T> {
  send(payload: T, signal: AbortSignal): Promise<SendOutcome>;
  /** Points in a payload (what the bound and the counters count). */
  size(payload: T): number;
  maxPoints: number;
  counters: SinkCounters;
  /** First retry delay and the cap, in ms; each delay is scaled by a random factor in [0.5, 1). */
  backoff: { initialMs: number; maxMs: number };
  /** Attempts at one payload within one drain before it waits for the next write. */
  attemptsPerDrain: number;
  now?: () => number;
  random?: () => number;
}

export class PushQueue<T> {
  private readonly queue: T[] = [];
  private points = 0;
  private failures = 0;
  private notBefore = 0;
  private draining: Promise<SinkResult> | undefined;

  constructor(private readonly o: PushQueueOptions<T>) {}

  get bufferedPoints(): number {
    return this.points;
  }

  push(payloads: T[]): void {
    for (const p of payloads) {
      this.queue.push(p);
      this.points += this.o.size(p);
    }
    while (this.points > this.o.maxPoints && this.queue.length > 0) {
      const n = this.o.size(this.queue.shift()!);
      this.points -= n;
      countDrop(this.o.counters, 'buffer_full', n);
    }
    this.o.counters.buffered = this.points;
  }

  /** Resolves when no drain is under way (a reload waits for it before taking the payloads). */
  async idle(): Promise<void> {
    await this.draining;
  }

  /** Reload: removes and returns every buffered payload, oldest first, counting nothing. */
  takeAll(): T[] {
    const all = this.queue.splice(0);
    this.points = 0;
    this.o.counters.buffered = 0;
    return all;
  }

  /** Reload: payloads a previous instance buffered, placed before this one's (they are older). */
  adopt(payloads: T[]): void {
    this.queue.unshift(...payloads);
    for (const p of payloads) this.points += this.o.size(p);
    this.push([]); // drops the oldest if the bound is now exceeded
  }

  /**
   * Sends what is buffered, oldest first. One drain at a time; a second caller shares the first.
   * `ignoreBackoff` (a last drain at shutdown) tries once even while an earlier failure's backoff runs.
   */
  drain(signal: AbortSignal, opts: { ignoreBackoff?: boolean } = {}): Promise<SinkResult> {
    this.draining ??= this.run(signal, opts.ignoreBackoff ?? false).finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async run(signal: AbortSignal, ignoreBackoff: boolean): Promise<SinkResult> {
    const now = this.o.now ?? Date.now;
    let sent = 0;
    let rejected: string | undefined;
    let attempts = 0;
    // A write that comes while an earlier failure's backoff runs leaves the backend alone.
    if (!ignoreBackoff && this.queue.length > 0 && now() < this.notBefore) return this.pending(`backing off for ${this.notBefore - now()} ms`);
    while (this.queue.length > 0) {
      if (signal.aborted) return this.pending('deadline reached');
      const head = this.queue[0];
      const n = this.o.size(head);
      const out = await this.o.send(head, signal);
      if (out.status === 'retryable') {
        this.failures++;
        this.o.counters.retried++;
        attempts++;
        const delay = this.delay();
        this.notBefore = now() + delay;
        if (attempts >= this.o.attemptsPerDrain) return this.pending(out.error);
        await sleep(delay, signal);
        continue;
      }
      this.queue.shift();
      this.points -= n;
      this.o.counters.buffered = this.points;
      this.failures = 0;
      this.notBefore = 0;
      attempts = 0;
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

  private pending(why: string): SinkResult {
    return { status: 'retryable', error: `${this.points} points buffered: ${why}` };
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
