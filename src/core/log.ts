// Structured logs to stderr (stdout carries data). Synchronous so nothing is lost at exit.
// stderr can fail too (a closed pipe, a full disk): a log line that cannot be written must not end
// the process, so write errors are ignored; sonic-boom keeps the unwritten lines and writes them
// if stderr works again, up to LOG_BACKLOG_BYTES, beyond which new lines are dropped.
import pino from 'pino';

export type Logger = pino.Logger;

const LOG_BACKLOG_BYTES = 1 << 20;

export function createLogger(level: string, dest: number | NodeJS.WritableStream = 2): Logger {
  if (typeof dest !== 'number') return pino({ level, base: { name: 'sockpulse' } }, dest); // the caller's stream, the caller's errors
  const stream = pino.destination({ fd: dest, sync: true, maxLength: LOG_BACKLOG_BYTES });
  stream.on('error', () => undefined);
  return pino({ level, base: { name: 'sockpulse' } }, stream);
}
