// The daemon: cycles on the schedule until SIGTERM/SIGINT; SIGHUP reloads the configuration.
// A reload that does not validate keeps the running configuration; one that validates but cannot
// be built, or whose sinks cannot start, restores it; either way the log says why. Signals are
// queued and handled one at a time, and the handlers stay installed for the daemon's whole life
// (SIGHUP's default action would end the process).
import { Settings } from '../config/schema';
import { HealthServer } from './health';
import { Logger, createLogger } from '../core/log';
import { parseInterval, startSchedule } from '../schedule/interval';
import { closeSinks, startSinks, tryBuildAgent, withTimeout } from './pipeline';

interface Running {
  stop(): Promise<void>;
  lastSuccess(): number | undefined;
}

/** `carried`: the previous configuration's last successful cycle, so a reload keeps readiness. */
async function start(s: Settings, log: Logger, carried?: number): Promise<Running | undefined> {
  const built = tryBuildAgent(s, log, false);
  if (!built) return undefined;
  const { agent, sinks, cycleTimeoutMs } = built;
  agent.lastSuccess = carried;
  if (!(await startSinks(sinks, log))) return undefined;
  const interval = parseInterval(s.interval);
  let health: HealthServer | undefined;
  if (s.health.listen) {
    health = new HealthServer(s.health.listen, { lastSuccess: () => agent.lastSuccess, maxAgeMs: 2 * (interval.seconds ?? 60) * 1000 + cycleTimeoutMs });
    try {
      await health.start();
    } catch (err) {
      log.fatal((err as Error).message);
      await closeSinks(sinks, log);
      return undefined;
    }
  }
  const schedule = startSchedule(interval, (at) => agent.tick(at), () => agent.missedTick());
  log.info({ interval: s.interval, discovery: s.discovery.mode, sinks: sinks.map((k) => k.name), health: s.health.listen || undefined }, 'sockpulse started');
  return {
    lastSuccess: () => agent.lastSuccess,
    async stop() {
      // Within 10 s of the signal: up to 3 s for the running cycle, up to 5 s for the sinks' flush
      // (run.ts closeSinks), then the process exits even if a hung backend holds a socket open.
      await schedule.stop();
      await withTimeout(agent.idle(), 3000).catch(() => {
        log.warn('abandoning the running cycle');
        agent.abandon();
      });
      await Promise.all([closeSinks(sinks, log, agent.stats), health?.close()]);
      agent.close();
    },
  };
}

export async function runDaemon(first: Settings, firstLog: Logger, reload: () => Settings): Promise<number> {
  const signals = signalQueue(['SIGTERM', 'SIGINT', 'SIGHUP']);
  let settings = first;
  let log = firstLog;
  try {
    let running = await start(settings, log);
    if (!running) return 1;
    for (;;) {
      const sig = await signals.next();
      if (sig !== 'SIGHUP') {
        log.info({ signal: sig }, 'stopping');
        await running.stop();
        return 0;
      }
      let next: Settings;
      try {
        next = reload();
      } catch (err) {
        log.error({ signal: sig }, `reload refused, keeping the running configuration: ${(err as Error).message}`);
        continue;
      }
      await running.stop();
      const carried = running.lastSuccess();
      const nextLog = createLogger(next.log.level);
      const started = await start(next, nextLog, carried);
      if (started) {
        [settings, log, running] = [next, nextLog, started];
        log.info({ signal: sig }, 'configuration reloaded');
        continue;
      }
      log.error({ signal: sig }, 'the new configuration could not start; restoring the previous one');
      const restored = await start(settings, log, carried);
      if (!restored) return 1;
      running = restored;
    }
  } finally {
    signals.close();
  }
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
