// Structured logs to stderr (stdout carries data). Synchronous so nothing is lost at exit.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, dest: number | NodeJS.WritableStream = 2): Logger {
  const stream = typeof dest === 'number' ? pino.destination({ fd: dest, sync: true }) : dest;
  return pino({ level, base: { name: 'sockpulse' } }, stream);
}
