// The schedule: an interval in seconds becomes a clock-aligned cron expression, so every host's
// cycles (and timestamps) line up; a cron expression is used as given.
import * as cron from 'node-cron';

export interface Interval {
  /** node-cron expression (6 fields, with seconds). */
  cron: string;
  /**
   * The period in seconds: the interval, or for a cron expression the longest gap between two of
   * its next CRON_SAMPLE firings (every 5 minutes → 300; 9:00 and 17:00 daily → 57600). Used for
   * the Open-Falcon step, timestamp alignment and the /readyz window.
   */
  period: number;
  /** A fixed interval of seconds (timestamps align down to it), not a cron expression. */
  fixed: boolean;
}

/** Firings of a cron expression looked at to find its period. */
export const CRON_SAMPLE = 64;

const ALLOWED =
  'seconds dividing a minute (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30), minutes dividing an hour (60, 120, 180, 240, 300, 360, 600, 900, 1200, 1800), ' +
  'hours dividing a day (3600, 7200, 10800, 14400, 21600, 28800, 43200, 86400), or a cron expression';

export function parseInterval(value: string): Interval {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const s = Number(v);
    const expr = cronFor(s);
    if (!expr) throw new Error(`${s} cannot be kept aligned to the clock; use ${ALLOWED}`);
    return { cron: expr, period: s, fixed: true };
  }
  const fields = v.split(/\s+/).length;
  if ((fields === 5 || fields === 6) && cron.validate(v)) return { cron: v, period: cronPeriod(v), fixed: false };
  throw new Error(`"${value}" is neither a number of seconds nor a valid cron expression; use ${ALLOWED}`);
}

function cronFor(s: number): string | undefined {
  if (s >= 1 && s < 60 && 60 % s === 0) return s === 1 ? '* * * * * *' : `*/${s} * * * * *`;
  if (s % 60 === 0 && s < 3600 && 60 % (s / 60) === 0) return `0 */${s / 60} * * * *`;
  if (s % 3600 === 0 && s <= 86400 && 24 % (s / 3600) === 0) return `0 0 */${s / 3600} * * *`;
  return undefined;
}

/** The longest gap, in seconds, between consecutive firings of a valid cron expression. */
function cronPeriod(expr: string): number {
  const task = cron.createTask(expr, () => undefined);
  try {
    const runs = task.getNextRuns(CRON_SAMPLE).map((d) => d.getTime());
    let longest = 0;
    for (let i = 1; i < runs.length; i++) longest = Math.max(longest, runs[i] - runs[i - 1]);
    return Math.max(1, Math.round(longest / 1000));
  } finally {
    void task.destroy();
  }
}

/** Unix seconds of `at`, aligned down to a fixed interval (to the second for cron schedules). */
export function alignedTimestamp(at: Date, interval?: Pick<Interval, 'period' | 'fixed'>): number {
  const t = Math.floor(at.getTime() / 1000);
  return interval?.fixed ? t - (t % interval.period) : t;
}

/**
 * Calls `onTick` on the schedule. Overlap is the caller's business (Agent.tick never overlaps).
 * node-cron drops a tick whose slot passed more than 1 s before the event loop could run it (a
 * long synchronous stretch, a starved CPU); it then calls `onMissed` instead, so the drop is
 * counted, and does not print its own (non-JSON) warning.
 */
export function startSchedule(interval: Interval, onTick: (at: Date) => void, onMissed: (at: Date) => void): { stop(): Promise<void> } {
  const task = cron.schedule(interval.cron, (ctx) => onTick(ctx.date), { name: 'sockpulse-cycle' });
  task.on('execution:missed', (ctx) => onMissed(ctx.date));
  return {
    async stop() {
      await task.destroy();
    },
  };
}
