// One HTTP(S) POST as the push sinks make it (Open-Falcon, OTLP): under the cycle's signal and a
// per-request timeout, whichever ends it first (timeout 0: the signal only); the reply read up to
// REPLY_MAX bytes (the rest is read and discarded); redirects are not followed. It never throws:
// the outcome is the answer (status and body), or why there was none and whether the whole body
// had been sent by then, which tells "never arrived" from "may have arrived" (falcon/sink.ts).
// The shared retry rule, classify(status): 2xx ok; 408, 429 and 5xx retryable (the backend may
// take it later); any other status failed (4xx: this payload is refused for good; 1xx and 3xx:
// the url is wrong). A request that got no answer is retryable unless its sink knows better. What
// a 2xx reply means (a transfer's Invalid count, an OTLP partial success) is each sink's to read.
import * as http from 'http';
import * as https from 'https';
import type { SendOutcome } from './push-queue';

/** Reply bytes kept: a transfer's reply is ~100 bytes, an OTLP partial success a few hundred. */
export const REPLY_MAX = 64 * 1024;

export interface PostOptions {
  agent: http.Agent;
  /** Request headers; content-length is set here. */
  headers: Record<string, string>;
  /** The cycle's deadline (or shutdown): ends the request when it aborts. */
  signal: AbortSignal;
  /** Per-request timeout in ms; 0: only the signal ends it. */
  timeoutMs: number;
}

export type PostOutcome =
  | { answered: true; status: number; body: Buffer }
  | { answered: false; why: 'timeout' | 'deadline' | 'network'; error: string; sent: boolean };

export type Verdict = 'ok' | 'retryable' | 'failed';

export function classify(status: number): Verdict {
  if (status >= 200 && status < 300) return 'ok';
  return status === 408 || status === 429 || status >= 500 ? 'retryable' : 'failed';
}

/** The outcome of an answer that is not 2xx: `HTTP <status>: <reply>`, retryable or failed by classify(). */
export function statusOutcome(status: number, reply: string): SendOutcome {
  const text = reply.trim();
  const error = `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  return { status: classify(status) === 'retryable' ? 'retryable' : 'failed', error };
}

/** A network error as `CODE: message` (the code once). */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' && !message.startsWith(`${e.code}:`) ? `${e.code}: ${message}` : message;
}

export function httpPost(url: string | URL, body: string | Uint8Array, o: PostOptions): Promise<PostOutcome> {
  if (o.signal.aborted) return Promise.resolve({ answered: false, why: 'deadline', error: 'cycle deadline reached', sent: false });
  return new Promise<PostOutcome>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    /** The whole body has been handed to the connection. */
    let sent = false;
    const finish = (out: PostOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onDeadline);
      resolve(out);
    };
    const fail = (why: 'timeout' | 'deadline' | 'network', error: string): void => finish({ answered: false, why, error, sent });
    const lib = String(url).startsWith('https:') ? https : http;
    const req = lib.request(url, { method: 'POST', agent: o.agent, headers: { ...o.headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < REPLY_MAX) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => finish({ answered: true, status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, REPLY_MAX) }));
      res.on('error', (err) => fail('network', describeError(err)));
      res.on('close', () => fail('network', 'connection closed before the reply ended'));
    });
    const stop = (why: 'timeout' | 'deadline', error: string): void => {
      fail(why, error);
      req.destroy();
    };
    const onDeadline = (): void => stop('deadline', 'cycle deadline reached during the request');
    o.signal.addEventListener('abort', onDeadline, { once: true });
    if (o.timeoutMs > 0) timer = setTimeout(() => stop('timeout', `no answer within the timeout (${o.timeoutMs} ms)`), o.timeoutMs);
    req.on('error', (err) => fail('network', describeError(err)));
    req.on('finish', () => (sent = true));
    req.end(body);
  });
}
