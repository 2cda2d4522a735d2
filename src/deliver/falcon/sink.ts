// Open-Falcon: every cycle's points as push items (falcon/items.ts), POSTed as JSON arrays of at
// most batch_size items to the agent's /v1/push or a transfer's /api/push, through the bounded,
// retrying PushQueue. The transfer's reply is the only place rejected items are visible
// ({"data":{"Total":N,"Invalid":M}}); the agent answers 200 "success" whatever happened.
//   2xx → delivered (Invalid added to the invalid counter); 400 → rejected for good (the queue
//   drops and counts the payload); connection errors, timeouts, 408, 429, 5xx → retried with
//   backoff; any other status → rejected. Redirects are not followed. Each request ends at the
//   cycle's deadline or after `timeout` seconds, whichever is first (timeout 0: the deadline only).
//   The request and that rule are shared with the OTLP sink (deliver/http-post.ts).
// Behind the agent (any url but a transfer's /api/push) a timeout is not a failure to deliver:
// when its transfer is down the agent queues the payload and answers 200 only after ~14 s, so a
// request cut off after its whole body was sent may well have been delivered, and resending it
// makes duplicates (4 copies were seen against the real agent). Such a payload is not retried:
// it is dropped and counted as `uncertain`, not as undelivered. The default timeout (20 s) is
// above the agent's 14 s, so with the default settings that happens only when a short interval's
// cycle deadline cuts the request first. A transfer answers at once, so there a timeout is retried.
// The url's credentials and query values are secrets: logs and errors show it redacted, and reply
// text is searched for them before it is logged or reported (core/secrets.ts).
import * as http from 'http';
import * as https from 'https';
import { hideSecrets, redactUrl, urlSecrets } from '../../core/secrets';
import { Batch, CloseReason, Handover, Sink, SinkResult } from '../../core/model';
import { countDrop } from '../../core/self-stats';
import { SinkContext } from '../plugin';
import { FalconConfig } from './settings';
import { COUNTER_MAX_CHARS, FalconItem, ItemEncoder, Trimmed } from './items';
import { batchPoints } from '../points';
import { KeptPayload, PushQueue, SendOutcome } from '../push-queue';
import { deprecatedBufferPoints } from '../delivery';
import { classify, httpPost, statusOutcome } from '../http-post';

/** close()'s bound when `timeout` is 0 (no per-request timeout). */
const CLOSE_MS_WITHOUT_TIMEOUT = 5000;

export class FalconSink implements Sink {
  readonly name = 'falcon';
  private readonly url: URL;
  /** /api/push: a transfer, whose reply counts invalid items. */
  private readonly transfer: boolean;
  private readonly timeoutMs: number;
  /** The step of the last batch (warned about once when below Open-Falcon's 30 s). */
  private step: number | undefined;
  private readonly http: http.Agent;
  private readonly queue: PushQueue;
  /** Hides the url's secrets in text from the backend. */
  private readonly hide: (text: string) => string;
  private closed = false;
  /** Trimmed tag sets logged already, kept while they last (see noteTrimmed). */
  private trimmedSeen = new Set<string>();

  constructor(
    private readonly cfg: FalconConfig,
    private readonly ctx: SinkContext,
  ) {
    this.url = cfg.url;
    this.hide = hideSecrets(urlSecrets(cfg.rawUrl));
    this.transfer = cfg.transfer;
    this.timeoutMs = cfg.timeoutMs;
    const agentOptions = { keepAlive: true, maxSockets: 1 };
    this.http = this.url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.queue = new PushQueue({
      send: (body, n, signal) => this.send(body, n, signal),
      counters: ctx.counters,
      ...cfg.delivery,
    });
  }

  readonly encoding = 'falcon/json';

  async start(): Promise<void> {
    const { batchSize, timeoutMs } = this.cfg;
    this.ctx.log.info({ url: redactUrl(this.url.href), transfer: this.transfer, batch_size: batchSize, timeout: timeoutMs / 1000 }, 'Open-Falcon sink ready');
    const deprecated = deprecatedBufferPoints(this.name, this.cfg.delivery);
    if (deprecated) this.ctx.log.warn(deprecated);
  }

  /** Encodes the batch, buffers it behind what is still unsent, and sends oldest first. Never throws. */
  async write(batch: Batch, signal: AbortSignal): Promise<SinkResult> {
    if (this.closed) return { status: 'failed', error: 'write after close' };
    if (batch.step !== this.step && batch.step < 30) {
      this.ctx.log.warn({ step: batch.step }, 'Open-Falcon raises steps below 30 s to 30 s: points inside one 30 s slot replace each other');
    }
    this.step = batch.step;
    try {
      this.enqueue(batch);
      return await this.queue.drain(signal);
    } catch (err) {
      return { status: 'failed', error: `falcon: ${String((err as Error)?.message ?? err)}` };
    }
  }

  /** Reload: the buffered payloads for the replacing instance; this one stops without sending. */
  async handOver(): Promise<Handover> {
    this.closed = true;
    await this.queue.idle();
    this.http.destroy();
    return { encoding: this.encoding, payloads: this.queue.takeAll() };
  }

  adopt(h: Handover): void {
    if (h.encoding === this.encoding) this.queue.adopt(h.payloads as KeptPayload[]);
  }

  /** One last drain, bounded by `timeout`; what is still buffered then is counted as dropped, reason `why`. */
  async close(why: CloseReason = 'shutdown'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const signal = AbortSignal.timeout(this.timeoutMs > 0 ? this.timeoutMs : CLOSE_MS_WITHOUT_TIMEOUT);
    await this.queue.drain(signal, { ignoreBackoff: true });
    // The drain above may have been one already under way for the last cycle: go once more.
    if (this.queue.bufferedPoints > 0 && !signal.aborted) await this.queue.drain(signal, { ignoreBackoff: true });
    const left = this.queue.bufferedPoints;
    if (left > 0) {
      countDrop(this.ctx.counters, why, left);
      this.ctx.log.warn({ points: left, reason: why }, `points still buffered at ${why} were not delivered`);
    }
    this.http.destroy();
  }

  /**
   * The batch's items in requests of batch_size (the last one smaller), encoded a slice of points
   * at a time: only one slice's items and JSON are alive at once, not the whole cycle's.
   */
  private enqueue(batch: Batch): void {
    const encoder = new ItemEncoder({
      prefix: this.cfg.prefix,
      endpoint: this.cfg.endpoint,
      hostname: this.ctx.hostname,
      step: batch.step,
      timestamp: batch.timestamp,
      copyLabels: this.ctx.copyLabels,
      catalog: this.ctx.catalog,
      naming: this.cfg.naming,
    });
    const size = this.cfg.batchSize;
    const points = batchPoints(batch);
    const invalid: Record<string, number> = {};
    let pending: FalconItem[] = [];
    for (let i = 0; i < points.length; i += size) {
      const out = encoder.encode(points.slice(i, i + size));
      for (const [why, n] of Object.entries(out.invalid)) invalid[why] = (invalid[why] ?? 0) + n;
      pending = pending.length === 0 ? out.items : pending.concat(out.items);
      while (pending.length >= size) {
        this.queue.push(JSON.stringify(pending.length === size ? pending : pending.slice(0, size)), size);
        pending = pending.length === size ? [] : pending.slice(size);
      }
    }
    if (pending.length > 0) this.queue.push(JSON.stringify(pending), pending.length);
    this.noteTrimmed(encoder.trimmed());
    const dropped = Object.values(invalid).reduce((a, b) => a + b, 0);
    if (dropped > 0) {
      countDrop(this.ctx.counters, 'invalid_local', dropped);
      this.ctx.log.debug({ dropped: invalid }, 'items the transfer would reject were dropped before sending');
    }
  }

  /**
   * Counts every label left out of an item's tags, and logs each namespace's trimmed tags once
   * (all its series lose the same labels), again only after a cycle without them.
   */
  private noteTrimmed(trimmed: Trimmed[]): void {
    const seen = new Set<string>();
    for (const t of trimmed) {
      const c = this.ctx.counters;
      c.labels_dropped = (c.labels_dropped ?? 0) + t.dropped.length * t.items;
      const key = `${t.endpoint}\0${t.tags}\0${t.dropped.join(',')}`;
      seen.add(key);
      if (this.trimmedSeen.has(key)) continue;
      this.ctx.log.warn(
        { endpoint: t.endpoint, tags: t.tags, dropped: t.dropped, series: t.items },
        `metric/tags would exceed ${COUNTER_MAX_CHARS} characters: labels left out of these series' tags`,
      );
    }
    this.trimmedSeen = seen;
  }

  /** One POST under the cycle's deadline and the request timeout, whichever comes first. */
  private async send(body: Buffer, n: number, cycle: AbortSignal): Promise<SendOutcome> {
    const out = await httpPost(this.url, body, { agent: this.http, headers: { 'content-type': 'application/json' }, signal: cycle, timeoutMs: this.timeoutMs });
    if (out.answered) return this.interpret(out.status, out.body.toString('utf8'), n);
    if (out.why !== 'network' && out.sent && !this.transfer) {
      return { status: 'failed', reason: 'uncertain', error: `${out.error} after the payload was sent; the agent may have queued it (it answers late while its transfer is down): not resent` };
    }
    return { status: 'retryable', error: out.error };
  }

  /** The answer: classify()'s rule, and a transfer's Invalid count on a 2xx. */
  private interpret(status: number, reply: string, n: number): SendOutcome {
    if (classify(status) === 'ok') {
      if (!this.transfer) return { status: 'ok' };
      const invalid = transferInvalid(reply);
      if (invalid === undefined) {
        this.ctx.log.warn({ reply: this.hide(reply).slice(0, 200) }, 'the transfer\'s reply has no data.Invalid; is the url a transfer\'s /api/push?');
        return { status: 'ok' };
      }
      if (invalid > 0) this.ctx.log.warn({ invalid, items: n }, 'the transfer reported items invalid');
      return { status: 'ok', invalid };
    }
    return statusOutcome(status, this.hide(reply));
  }
}

/** data.Invalid of a transfer's `{"msg":"success","data":{"Message":"ok","Total":N,"Invalid":M,…}}`. */
function transferInvalid(reply: string): number | undefined {
  try {
    const invalid = (JSON.parse(reply) as { data?: { Invalid?: unknown } })?.data?.Invalid;
    return typeof invalid === 'number' && Number.isInteger(invalid) && invalid >= 0 ? invalid : undefined;
  } catch {
    return undefined;
  }
}
