// OTLP/HTTP sink (http/protobuf or http/json). Each batch becomes one request: http/protobuf
// written by otlp/protobuf.ts (the exporter serializer's bytes, without the OpenTelemetry packages
// or an object per point), http/json as one ResourceMetrics (otlp/data.ts) serialised by the OTLP
// exporter's own JSON serializer; buffered in the shared PushQueue and POSTed here. Why not the
// exporter's export() (studied in 0.223):
// - its node transport loads `http` with a dynamic import(), which Jest's CommonJS VM rejects
//   (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG): it cannot send under the test runner at all;
// - it retries 429/502/503/504 and network errors inside one export() for up to the whole
//   timeout, invisibly, then reports them without the status code; a 500 is not retried;
// - MeterProvider.forceFlush()/shutdown() resolve even when the export failed.
// Here every attempt is one request under one deadline (the timeout, or the cycle's if sooner),
// the outcome keeps the status (deliver/http-post.ts, shared with the Open-Falcon sink), and
// partial successes count their rejected points as invalid.
// Secrets (header values, the endpoint's credentials and query values) never reach a log line or
// an error: the endpoint is shown redacted, and reply text is searched for them first.
import * as http from 'http';
import * as https from 'https';
import { Batch, CloseReason, Handover, Sink, SinkResult } from '../../core/model';
import { countDrop } from '../../core/self-stats';
import { SinkContext } from '../plugin';
import { OtlpConfig } from './settings';
import { hideSecrets, redactUrl } from '../../core/secrets';
import { OtlpProtocol, OtlpTarget, targetSecrets } from './config';
import { CounterStarts, decodeResponse, encodeRequest, resourceAttributes } from './protobuf';
import { batchPoints } from '../points';
import { KeptPayload, PushQueue, SendOutcome } from '../push-queue';
import { deprecatedBufferPoints } from '../delivery';
import { classify, httpPost, statusOutcome } from '../http-post';

export class OtlpSink implements Sink {
  readonly name = 'otlp';
  /** Holds the header values: never log it. */
  private readonly target: OtlpTarget;
  /** Batches → request bodies, reply bodies → partial successes, in this protocol. */
  private readonly codec: OtlpCodec;
  private readonly queue: PushQueue;
  // No keep-alive: one request a cycle, and no idle socket for the backend to close under us.
  private readonly agent: http.Agent;
  private readonly headers: Record<string, string>;
  /** Hides the target's secrets in text from the backend. */
  private readonly hide: (text: string) => string;
  private closed = false;
  private readonly delivery: OtlpConfig['delivery'];

  constructor(cfg: OtlpConfig, private readonly ctx: SinkContext) {
    this.target = cfg.target;
    this.hide = hideSecrets(targetSecrets(this.target));
    this.codec = otlpCodec(this.target.protocol, ctx.hostname, ctx.version);
    this.agent = this.target.url.startsWith('https:') ? new https.Agent({ keepAlive: false }) : new http.Agent({ keepAlive: false });
    // The configured headers may not replace the encoding's; they may replace the User-Agent.
    const own = Object.entries(this.target.headers).filter(([k]) => !/^content-(type|length)$/i.test(k));
    this.headers = {
      ...(own.some(([k]) => /^user-agent$/i.test(k)) ? {} : { 'User-Agent': `sockpulse/${ctx.version}` }),
      ...Object.fromEntries(own),
      'Content-Type': this.target.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
    };
    this.delivery = cfg.delivery;
    this.queue = new PushQueue({
      send: (body, _points, signal) => this.post(body, signal),
      counters: ctx.counters,
      ...cfg.delivery,
    });
  }

  /** Payloads are request bodies in this protocol: a replacement with another protocol cannot send them. */
  get encoding(): string {
    return `otlp/${this.target.protocol}`;
  }

  /** Reload: the buffered payloads for the replacing instance; this one stops without sending. */
  async handOver(): Promise<Handover> {
    this.closed = true;
    await this.queue.idle();
    return { encoding: this.encoding, payloads: this.queue.takeAll() };
  }

  adopt(h: Handover): void {
    if (h.encoding === this.encoding) this.queue.adopt(h.payloads as KeptPayload[]);
  }

  async start(): Promise<void> {
    const { url, protocol, headers, timeoutMs } = this.target;
    // Header values are secrets: only their number is ever logged.
    this.ctx.log.info({ endpoint: redactUrl(url), protocol, timeout_ms: timeoutMs, headers: Object.keys(headers).length }, 'OTLP sink ready');
    const deprecated = deprecatedBufferPoints(this.name, this.delivery);
    if (deprecated) this.ctx.log.warn(deprecated);
  }

  async write(batch: Batch, signal: AbortSignal): Promise<SinkResult> {
    if (this.closed) return { status: 'failed', error: 'write after close' };
    const data = this.codec.request(batch);
    if (data.skipped > 0) countDrop(this.ctx.counters, 'invalid_local', data.skipped);
    if (data.points > 0) {
      if (data.body) this.queue.push(data.body, data.points);
      else countDrop(this.ctx.counters, 'invalid_local', data.points);
    }
    return this.queue.drain(signal);
  }

  /** One last drain, bounded by the timeout; what is still buffered then is counted as dropped, reason `why`. */
  async close(why: CloseReason = 'shutdown'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drain(AbortSignal.timeout(this.target.timeoutMs), { ignoreBackoff: true });
    const left = this.queue.bufferedPoints;
    if (left > 0) {
      countDrop(this.ctx.counters, why, left);
      this.ctx.log.warn({ points: left, reason: why }, `OTLP backend unreachable at ${why}; buffered points dropped`);
    }
    this.agent.destroy();
  }

  private async post(body: Buffer, cycle: AbortSignal): Promise<SendOutcome> {
    const out = await httpPost(this.target.url, body, { agent: this.agent, headers: this.headers, signal: cycle, timeoutMs: this.target.timeoutMs });
    if (!out.answered) return { status: 'retryable', error: out.error };
    if (classify(out.status) === 'ok') return { status: 'ok', invalid: this.rejectedPoints(out.body) };
    return statusOutcome(out.status, this.hide(out.body.toString('utf8')));
  }

  /** A 2xx may still carry a partial success: points the backend rejected. */
  private rejectedPoints(body: Buffer): number {
    if (body.length === 0) return 0;
    try {
      const partial = this.codec.response(body);
      const n = Number(partial?.rejectedDataPoints ?? 0);
      if (n > 0) this.ctx.log.warn({ rejected: n }, `OTLP backend rejected points: ${this.hide(partial?.errorMessage ?? '')}`);
      return n > 0 ? n : 0;
    } catch {
      return 0; // an unreadable success is still a success
    }
  }
}

/** How batches become request bodies and reply bodies partial successes, per protocol. */
interface OtlpCodec {
  /** `body` undefined: the batch could not be encoded (its points are counted invalid_local; the next batch is unaffected). */
  request(batch: Batch): { body: Uint8Array | undefined; points: number; skipped: number };
  response(body: Uint8Array): { rejectedDataPoints?: number | string; errorMessage?: string } | undefined;
}

function otlpCodec(protocol: OtlpProtocol, hostname: string, version: string): OtlpCodec {
  const starts = new CounterStarts();
  if (protocol === 'http/protobuf') {
    const resource = resourceAttributes(hostname, version);
    return {
      request(batch) {
        try {
          return encodeRequest(batch, resource, version, starts);
        } catch {
          return { body: undefined, points: batchPoints(batch).length, skipped: 0 };
        }
      },
      response: decodeResponse,
    };
  }
  // http/json: the OpenTelemetry packages are loaded only for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { batchToOtlp, exporterSerializer, otlpResource } = require('./data') as typeof import('./data');
  const serializer = exporterSerializer(protocol);
  const resource = otlpResource(hostname, version);
  return {
    request(batch) {
      const { data, points, skipped } = batchToOtlp(batch, resource, version, starts);
      try {
        return { body: serializer.serializeRequest(data), points, skipped };
      } catch {
        return { body: undefined, points, skipped };
      }
    },
    response: (body) => serializer.deserializeResponse(body).partialSuccess,
  };
}
