// What a failed INSERT or CREATE TABLE means for delivery. @clickhouse/client throws a
// ClickHouseError (with the server's numeric error code) when the server answered with an
// exception, and a plain Error (ECONNREFUSED, ECONNRESET, a timeout, an aborted request) when no
// answer came. No answer, and the server's transient codes (overload, memory, too many parts), are
// retryable: the payload stays buffered. Any other exception is final for that payload: it is
// dropped and counted — `auth` for a refused user or password (never retried: it would be refused
// forever and the buffer would only hold up newer rows), `rejected` for the rest (no such table,
// a column the table lacks, a value it cannot parse).
import type { SendOutcome } from '../push-queue';
import { describeError } from '../http-post';

/** Codes a retry may get past: timeouts, network, overload, memory, parts, replicas, keeper. */
const TRANSIENT = new Set([159, 164, 202, 203, 209, 210, 236, 241, 242, 252, 285, 319, 373, 425, 439, 999]);
/** UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD (18.x); AUTHENTICATION_FAILED (20.x on); IP_ADDRESS_NOT_ALLOWED. */
const AUTH = new Set([192, 193, 194, 195, 516]);
/** UNKNOWN_TABLE, UNKNOWN_DATABASE. */
const NO_TABLE = new Set([60, 81]);

/**
 * The server's error code: a ClickHouseError's (the client parses current servers' replies), else
 * the `Code: N` an older server's reply starts with — 18.16 says `Code: 193, e.displayText() = …`,
 * which the client does not recognise and hands on as a plain Error with the reply as message.
 */
function serverCode(err: unknown): number | undefined {
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  if (e?.name === 'ClickHouseError' && typeof e.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
  const m = typeof e?.message === 'string' ? /^Code: (\d+)[.,]/.exec(e.message) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * The outcome of an error thrown by the client. `hide` masks the sink's secrets in the server's
 * text; `where` names the table for the hints.
 */
export function errorOutcome(err: unknown, hide: (s: string) => string, where: { table: string; createTable: boolean }): SendOutcome {
  const code = serverCode(err);
  const raw = code === undefined ? describeError(err) : String((err as Error).message);
  const text = hide(raw).split('\n')[0].slice(0, 300);
  if (code === undefined) return { status: 'retryable', error: text };
  if (TRANSIENT.has(code)) return { status: 'retryable', error: `ClickHouse error ${code}: ${text}` };
  if (AUTH.has(code)) {
    return { status: 'failed', reason: 'auth', error: `ClickHouse refused the credentials (error ${code}): ${text} — check sinks.clickhouse.user and sinks.clickhouse.password` };
  }
  if (NO_TABLE.has(code) && !where.createTable) {
    return { status: 'failed', error: `ClickHouse error ${code}: ${text} — create ${where.table} (README, "Traffic accounting") or set sinks.clickhouse.create_table: true` };
  }
  return { status: 'failed', error: `ClickHouse error ${code}: ${text}` };
}
