// Why a request was reset: clickhouse-server 18.16 refuses wrong credentials with a 401 and
// closes the connection without reading the rest of the request body; the unread body makes the
// kernel reset the connection, and the client often sees the reset instead of the answer — a
// network error, which alone would be retried until the buffer overflows. After such a reset the
// sink asks once more, with a request that has no body (GET /?query=SELECT 1, the same user and
// password), whose answer cannot be lost that way: a refusal there is the real cause.
import * as http from 'http';
import * as https from 'https';

/** Errors that may hide an answer the server sent before closing (not: refused, timeouts, DNS). */
export function maybeLostAnswer(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || (typeof e?.message === 'string' && /socket hang up|ECONNRESET|EPIPE/.test(e.message));
}

/**
 * The server's error text when it refuses a bodiless query with these credentials (status ≥ 400),
 * else undefined (it answered, or it did not answer at all).
 */
export function probeRefusal(url: string, user: string, password: string, signal: AbortSignal, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const u = new URL(url);
    u.search = '?query=SELECT%201';
    const lib = u.protocol === 'https:' ? https : http;
    const auth = Buffer.from(`${decodeURIComponent(u.username) || user}:${decodeURIComponent(u.password) || password}`).toString('base64');
    u.username = '';
    u.password = '';
    const req = lib.get(u, { headers: { authorization: `Basic ${auth}` }, signal, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body = (body + c).slice(0, 4096)));
      res.on('end', () => resolve((res.statusCode ?? 0) >= 400 ? body.trim() : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}
