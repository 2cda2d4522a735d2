// Building and running the pipeline: the agent (discovery, collection, schedule settings) and its
// sinks, from the resolved configuration; starting and closing sinks; one cycle for --once.
import * as path from 'path';
import { Agent } from '../schedule/tick';
import { CollectStage } from '../collect/stage';
import { Resolved } from '../config/resolve';
import { createDiscovery } from '../discover/build';
import { Logger } from '../core/log';
import { CloseReason, Sink } from '../core/model';
import { SelfStats, countDrop } from '../core/self-stats';
import { SinkEnv, activeSinks, buildSink } from '../deliver/build';
import { SinkSpec } from '../deliver/build';
import { packageRoot } from './package-root';

export interface RunningSink {
  spec: SinkSpec;
  sink: Sink;
}

export interface Built {
  agent: Agent;
  sinks: RunningSink[];
}

/** What every sink of this configuration is given besides its section. */
export function sinkEnv(r: Resolved, log: Logger, stats: SelfStats, once: boolean): SinkEnv {
  return { log, stats, hostname: r.hostname, version: version(), copyLabels: r.copyLabels, catalog: r.catalog, once };
}

/**
 * The agent and its sinks, or undefined (logged as fatal) when one cannot be built. Resolution at
 * load refuses what would fail here, so this is the net under it (a TLS file removed since): a
 * construction error never escapes as an uncaught exception. `keep`: running sinks to reuse as
 * they are when their identity is unchanged (a reload).
 */
export function tryBuild(r: Resolved, log: Logger, stats: SelfStats, once: boolean, keep: readonly RunningSink[] = []): Built | undefined {
  try {
    const env = sinkEnv(r, log, stats, once);
    const sinks = activeSinks(r.sinks, once).map((spec): RunningSink => {
      const same = keep.find((k) => k.spec.plugin.name === spec.plugin.name && k.spec.identity === spec.identity);
      return same ?? { spec, sink: buildSink(spec, env) };
    });
    return { agent: buildAgent(r, log, stats, sinks.map((s) => s.sink)), sinks };
  } catch (err) {
    log.fatal(`cannot build the agent: ${String((err as Error)?.message ?? err)}`);
    return undefined;
  }
}

export function buildAgent(r: Resolved, log: Logger, stats: SelfStats, sinks: Sink[]): Agent {
  return new Agent({
    discovery: createDiscovery(r.discovery, log),
    collect: new CollectStage(r.procRoot, r.collectors, r.maxSeries),
    sinks,
    log,
    hostname: r.hostname,
    interval: r.interval,
    cycleTimeoutMs: r.cycleTimeoutMs,
    stats,
  });
}

/** Starts sinks; one that cannot start (a port in use) stops them all, with its reason. */
export async function startSinks(sinks: Sink[], log: Logger): Promise<boolean> {
  const started = await Promise.allSettled(sinks.map((k) => k.start()));
  const failed = started.flatMap((r, i) => (r.status === 'rejected' ? [{ sink: sinks[i].name, error: String((r.reason as Error)?.message ?? r.reason) }] : []));
  for (const f of failed) log.fatal({ sink: f.sink }, `cannot start sink ${f.sink}: ${f.error}`);
  if (failed.length > 0) await closeSinks(sinks, log);
  return failed.length === 0;
}

/**
 * close() flushes: bounded, and one sink's failure does not keep the others from flushing. A sink
 * still flushing at the bound (a backend that accepts and never answers) loses what it buffers:
 * that is counted and said, never silent.
 */
export async function closeSinks(sinks: Sink[], log: Logger, stats?: SelfStats, why: CloseReason = 'shutdown'): Promise<void> {
  const closed = await Promise.allSettled(sinks.map((k) => withTimeout(k.close(why), CLOSE_MS)));
  closed.forEach((r, i) => {
    if (r.status === 'fulfilled') return;
    const c = stats?.sink(sinks[i].name);
    const points = c?.buffered ?? 0;
    if (c && points > 0) countDrop(c, why, points);
    log.warn({ sink: sinks[i].name, points }, `closing: ${String((r.reason as Error)?.message ?? r.reason)}; ${points} buffered points not delivered`);
  });
}

const CLOSE_MS = 5000;

export async function runOnce(r: Resolved, log: Logger): Promise<number> {
  const stats = new SelfStats();
  const built = tryBuild(r, log, stats, true);
  if (!built) return 1;
  const { agent } = built;
  const sinks = built.sinks.map((s) => s.sink);
  if (!(await startSinks(sinks, log))) return 1;
  const { batch, deliveries } = await agent.runCycle(new Date());
  await closeSinks(sinks, log, stats);
  await agent.close();
  const delivered = deliveries.every((d) => d.result.status === 'ok');
  return batch.errors.length === 0 && delivered ? 0 : 1;
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    t.unref();
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}

export function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(path.join(packageRoot(), 'package.json')) as { version: string }).version;
}
