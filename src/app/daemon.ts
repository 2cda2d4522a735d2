// The daemon: cycles on the schedule until SIGTERM/SIGINT; SIGHUP reloads the configuration
// without losing anything (app/reload.ts). A reload that does not validate, cannot be built, or
// whose new sinks cannot start keeps the running configuration untouched, and the log says why.
// Signals are queued and handled one at a time, and the handlers stay installed for the daemon's
// whole life (SIGHUP's default action would end the process).
import { Resolved } from '../config/resolve';
import { Logger, createLogger } from '../core/log';
import { SelfStats } from '../core/self-stats';
import { startSchedule } from '../schedule/interval';
import { HealthServer } from './health';
import { closeSinks, startSinks, tryBuild, withTimeout } from './pipeline';
import { Running, readiness, reload } from './reload';

async function start(r: Resolved, log: Logger, stats: SelfStats): Promise<Running | undefined> {
  const built = tryBuild(r, log, stats, false);
  if (!built) return undefined;
  const sinks = built.sinks.map((s) => s.sink);
  if (!(await startSinks(sinks, log))) return undefined;
  const running = new Running(r, log, built, stats);
  if (r.health) {
    const health = new HealthServer(r.health.listen, readiness(r, running));
    try {
      await health.start();
    } catch (err) {
      log.fatal((err as Error).message);
      await closeSinks(sinks, log);
      return undefined;
    }
    running.health = health;
  }
  running.schedule = startSchedule(r.interval, (at) => running.agent.tick(at), () => running.agent.missedTick());
  log.info({ interval: r.interval.cron, period: r.interval.period, discovery: r.discovery.mode, sinks: sinks.map((k) => k.name), health: r.health?.listen }, 'sockpulse started');
  return running;
}

export async function runDaemon(first: Resolved, firstLog: Logger, load: () => Resolved): Promise<number> {
  const signals = signalQueue(['SIGTERM', 'SIGINT', 'SIGHUP']);
  const stats = new SelfStats(); // carried over reloads
  try {
    const running = await start(first, firstLog, stats);
    if (!running) return 1;
    for (;;) {
      const sig = await signals.next();
      if (sig !== 'SIGHUP') {
        running.log.info({ signal: sig }, 'stopping');
        await stop(running);
        return 0;
      }
      let next: Resolved;
      try {
        next = load();
      } catch (err) {
        running.log.error({ signal: sig }, `reload refused, keeping the running configuration: ${(err as Error).message}`);
        continue;
      }
      if (await reload(running, next, createLogger(next.logLevel))) running.log.info({ signal: sig }, 'configuration reloaded');
    }
  } finally {
    signals.close();
  }
}

/**
 * Within 10 s of the signal: up to 3 s for the running cycle, up to 5 s for the sinks' flush
 * (pipeline.ts closeSinks), then the process exits even if a hung backend holds a socket open.
 */
async function stop(running: Running): Promise<void> {
  await running.schedule?.stop();
  await withTimeout(running.agent.idle(), 3000).catch(() => {
    running.log.warn('abandoning the running cycle');
    running.agent.abandon();
  });
  await Promise.all([closeSinks(running.sinks.map((s) => s.sink), running.log, running.stats), running.health?.close()]);
  await running.agent.close();
}

function signalQueue(names: NodeJS.Signals[]) {
  const queued: NodeJS.Signals[] = [];
  let wake: (() => void) | undefined;
  const on = (sig: NodeJS.Signals): void => {
    queued.push(sig);
    wake?.();
  };
  for (const n of names) process.on(n, on);
  return {
    async next(): Promise<NodeJS.Signals> {
      while (queued.length === 0) await new Promise<void>((r) => (wake = r));
      return queued.shift()!;
    },
    close(): void {
      for (const n of names) process.off(n, on);
    },
  };
}
