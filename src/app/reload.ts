// SIGHUP without loss. The new pipeline is built (and so validated) before the running one is
// touched; sinks whose settings did not change are the same instances afterwards (their buffers,
// StatsD counter baselines, OTLP start times and the Prometheus listener all carry over); a
// changed sink hands its buffered payloads to its replacement when both encode alike, else it
// flushes them on close; new sinks start before the old ones stop, so a listener never goes
// away unless its address changes; self-stats carry over, and nothing is counted as `shutdown`:
// points a removed (or incompatibly replaced) sink cannot flush are dropped as `reload`.
import { Resolved } from '../config/resolve';
import { Logger } from '../core/log';
import { Sink } from '../core/model';
import { SelfStats } from '../core/self-stats';
import { Agent } from '../schedule/tick';
import { startSchedule } from '../schedule/interval';
import { HealthServer } from './health';
import { Built, RunningSink, closeSinks, tryBuild, withTimeout } from './pipeline';

export class Running {
  agent: Agent;
  sinks: RunningSink[];
  health: HealthServer | undefined;
  schedule: { stop(): Promise<void> } | undefined;

  constructor(
    public r: Resolved,
    public log: Logger,
    built: Built,
    readonly stats: SelfStats,
  ) {
    this.agent = built.agent;
    this.sinks = built.sinks;
  }

  lastSuccess(): number | undefined {
    return this.agent.lastSuccess;
  }
}

/** Readiness allows two periods and the cycle deadline since the last successful cycle. */
export function readiness(r: Resolved, running: { lastSuccess(): number | undefined }) {
  return { lastSuccess: () => running.lastSuccess(), maxAgeMs: 2 * r.interval.period * 1000 + r.cycleTimeoutMs };
}

/** Replaces the running pipeline with one built from `next`; false (and nothing changed) when it cannot. */
export async function reload(running: Running, next: Resolved, log: Logger): Promise<boolean> {
  const refuse = (why: string): false => {
    running.log.error(`reload refused, keeping the running configuration: ${why}`);
    return false;
  };
  const built = tryBuild(next, log, running.stats, false, running.sinks);
  if (!built) return refuse('the new configuration could not be built');
  const fresh = built.sinks.filter((s) => !running.sinks.includes(s));
  const predecessor = (s: RunningSink): RunningSink | undefined => running.sinks.find((o) => o.spec.plugin.name === s.spec.plugin.name && !built.sinks.includes(o));

  // 1. Start what is new while the old pipeline still runs. A listener whose address its
  //    predecessor holds can only start once that one has stopped.
  const deferred: RunningSink[] = [];
  const started: Sink[] = [];
  for (const s of fresh) {
    try {
      await s.sink.start();
      started.push(s.sink);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && predecessor(s)) deferred.push(s);
      else {
        await closeSinks(started, log);
        return refuse(`cannot start sink ${s.spec.plugin.name}: ${(err as Error).message}`);
      }
    }
  }
  let health = running.health;
  const healthChanged = next.health?.listen !== running.health?.listen;
  if (healthChanged && next.health) {
    health = new HealthServer(next.health.listen, readiness(next, running));
    try {
      await health.start();
    } catch (err) {
      await closeSinks(started, log);
      return refuse((err as Error).message);
    }
  }

  // 2. Stop the old schedule and let its cycle end (bounded), as a shutdown would.
  await running.schedule?.stop();
  await withTimeout(running.agent.idle(), 3000).catch(() => {
    running.log.warn('abandoning the running cycle');
    running.agent.abandon();
  });

  // 3. Old sinks that are not kept: hand their buffers over, or flush them.
  const leaving = running.sinks.filter((o) => !built.sinks.includes(o));
  const flush: Sink[] = [];
  for (const o of leaving) {
    const heir = fresh.find((s) => s.spec.plugin.name === o.spec.plugin.name)?.sink;
    if (heir && o.sink.encoding !== undefined && o.sink.encoding === heir.encoding && o.sink.handOver && heir.adopt) {
      const h = await o.sink.handOver();
      heir.adopt(h);
      running.log.info({ sink: o.spec.plugin.name, payloads: h.payloads.length }, 'reload: buffered points handed to the reconfigured sink');
    } else flush.push(o.sink);
  }
  await closeSinks(flush, running.log, running.stats, 'reload');
  if (healthChanged) await running.health?.close();
  for (const s of deferred) {
    try {
      await s.sink.start();
    } catch (err) {
      log.error({ sink: s.spec.plugin.name }, `reload: cannot start sink ${s.spec.plugin.name}: ${(err as Error).message}; it is left out`);
      built.sinks.splice(built.sinks.indexOf(s), 1);
      await closeSinks([s.sink], log, running.stats, 'reload');
    }
  }

  // 4. Swap the agent (new discovery and collection; same self-stats), keep readiness, go on.
  built.agent.lastSuccess = running.agent.lastSuccess;
  await running.agent.close();
  running.r = next;
  running.log = log;
  running.agent = built.agent;
  running.sinks = built.sinks;
  running.health = next.health ? health : undefined;
  if (running.health) running.health.ready = readiness(next, running);
  running.schedule = startSchedule(next.interval, (at) => running.agent.tick(at), () => running.agent.missedTick());
  return true;
}
