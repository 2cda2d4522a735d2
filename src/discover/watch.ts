// Event-driven discovery (`discovery.watch`), shared by the runtimes (docker/events.ts,
// cri/events.ts): a feed that follows a runtime's event stream and reopens it with backoff when it
// drops, and the rule for when a cycle must list anyway. A cycle may trust the events instead of
// listing only when the stream was open before the last list call was made, has not been reopened
// since (events may be missing in between), and that list is fewer than `resyncCycles` cycles old;
// so a missed event costs at most that many cycles. A dropped stream never ends the agent: the
// cycles list until it is back. The log says each change of state once, not each retry.
import { Logger } from '../core/log';

export interface WatchSettings {
  enabled: boolean;
  /** A full list every this many cycles even while the stream is open. */
  resyncCycles: number;
}

export type FeedState = 'idle' | 'connecting' | 'open' | 'down' | 'unsupported' | 'closed';

/** What a stream implementation reports back; calls after `ended` (or after close) are ignored. */
export interface StreamHooks<E> {
  /** The runtime accepted the stream: events from now on are complete. */
  opened(): void;
  event(e: E): void;
  /** The stream is over: why, and whether the runtime does not have it at all (no retry). */
  ended(err: unknown, unsupported?: boolean): void;
}

export type OpenStream<E> = (hooks: StreamHooks<E>) => { close(): void };

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000 };

export class EventFeed<E> {
  state: FeedState = 'idle';
  /** Bumped each time a stream opens: a list made under another generation may have missed events. */
  generation = 0;
  private queue: E[] = [];
  private handle: { close(): void } | undefined;
  /** The stream whose hooks count; those of one closed or ended are ignored. */
  private token: object | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private openedAt = 0;
  private saidUnsupported = false;
  /** The state last logged ('open' or not), so an outage with many retries is one line. */
  private said: 'open' | 'down' | undefined;

  constructor(
    /** "docker" or "cri": names the feed in the log. */
    private readonly what: string,
    private readonly open: OpenStream<E>,
    private readonly log: Logger,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {
    this.delayMs = backoff.initialMs;
  }

  /** Opens the stream unless it is open, opening, waiting to retry, unsupported or closed. */
  start(): void {
    if (this.state === 'idle') this.connect();
  }

  /** After the runtime itself was down and is back: a runtime that lacked the stream may have been upgraded. */
  retryUnsupported(): void {
    if (this.state === 'unsupported') this.connect();
  }

  /** The events received since the last drain, in order. */
  drain(): E[] {
    const q = this.queue;
    this.queue = [];
    return q;
  }

  /**
   * A call to the runtime failed while the stream looked fine: a stream relayed by a proxy may not
   * have seen the runtime go. A new stream, so a list made once it is open is trusted again.
   */
  reopen(): void {
    if (this.state !== 'open') return;
    this.drop();
    this.connect();
  }

  close(): void {
    this.state = 'closed';
    clearTimeout(this.timer);
    this.drop();
  }

  private drop(): void {
    this.token = undefined;
    const h = this.handle;
    this.handle = undefined;
    h?.close();
  }

  private connect(): void {
    this.state = 'connecting';
    const token = {};
    this.token = token;
    const mine = (): boolean => this.token === token && this.state !== 'closed';
    const handle = this.open({
      opened: () => {
        if (!mine() || this.state === 'open') return;
        this.state = 'open';
        this.generation++;
        this.openedAt = Date.now();
        if (this.said !== 'open') this.log.info({ discovery: this.what }, `following ${this.what} events: a cycle lists only every discovery.resync_cycles cycles`);
        this.said = 'open';
      },
      event: (e) => {
        if (mine()) this.queue.push(e);
      },
      ended: (err, unsupported) => {
        if (!mine()) return;
        this.token = undefined;
        this.handle = undefined;
        if (unsupported) return this.unsupported(err);
        // A stream that stayed up a while starts the next round of retries from the beginning.
        const wasOpen = this.state === 'open';
        if (wasOpen && Date.now() - this.openedAt > this.backoff.maxMs) this.delayMs = this.backoff.initialMs;
        this.state = 'down';
        if (this.said !== 'down') {
          this.log.warn({ discovery: this.what, err: describe(err) }, `${this.what} event stream ${wasOpen ? 'lost' : 'not available'}: listing every cycle until it is back`);
        }
        this.said = 'down';
        this.timer = setTimeout(() => {
          if (this.state === 'down') this.connect();
        }, this.delayMs);
        this.timer.unref();
        this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
      },
    });
    if (this.token === token) this.handle = handle; // else it ended already
  }

  private unsupported(err: unknown): void {
    this.state = 'unsupported';
    this.said = undefined;
    if (this.saidUnsupported) return;
    this.saidUnsupported = true;
    this.log.info({ discovery: this.what, err: describe(err) }, `the ${this.what} runtime has no event stream: listing every cycle (discovery.watch has no effect)`);
  }
}

/** When a cycle must list: decided from the feed and the last list (see the header). */
export class ListGate {
  private syncedGeneration = -1;
  private cyclesSinceList = 0;

  constructor(private readonly settings: WatchSettings) {}

  /** True: this cycle may use the events instead of listing. Counts the cycle. */
  mayTrustEvents(feed: EventFeed<unknown>): boolean {
    const ok = feed.state === 'open' && feed.generation === this.syncedGeneration && this.cyclesSinceList < this.settings.resyncCycles;
    if (ok) this.cyclesSinceList++;
    return ok;
  }

  /** A list call is about to be made (the feed's queue was drained just before). */
  listing(feed: EventFeed<unknown>): void {
    this.syncedGeneration = feed.state === 'open' ? feed.generation : -1;
    this.cyclesSinceList = 1;
  }

  /** The list failed: the next cycle lists again. */
  failed(): void {
    this.syncedGeneration = -1;
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string | number; details?: string; message?: string };
  return e?.details || e?.message || String(err);
}
