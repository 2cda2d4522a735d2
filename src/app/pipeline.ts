// Building and running the pipeline once: the agent with its discovery, collection and sinks.
import * as os from 'os';
import * as path from 'path';
import { Agent } from '../schedule/tick';
import { CollectStage } from '../collect/stage';
import { Settings } from '../config/schema';
import { createDiscovery } from '../discover/build';
import { Logger } from '../core/log';
import { Sink } from '../core/model';
import { parseInterval } from '../schedule/interval';
import { packageRoot } from './package-root';
import { createSinks } from '../deliver/build';
import { SelfStats, countDrop } from '../core/self-stats';

export interface Built {
  agent: Agent;
  sinks: Sink[];
  cycleTimeoutMs: number;
}

/**
 * The agent and its sinks, or undefined (logged as fatal) when one cannot be built. Load-time
 * validation (config/schema.ts checkSettings) refuses what would fail here, so this is the net
 * under it: a construction error never escapes as an uncaught exception.
 */
export function tryBuildAgent(s: Settings, log: Logger, once: boolean): Built | undefined {
  try {
    return buildAgent(s, log, once);
  } catch (err) {
    log.fatal(`cannot build the agent: ${String((err as Error)?.message ?? err)}`);
    return undefined;
  }
}

function buildAgent(s: Settings, log: Logger, once: boolean): Built {
  const interval = parseInterval(s.interval);
  const timeoutS = s.cycle_timeout > 0 ? s.cycle_timeout : Math.min(30, (interval.seconds ?? 60) * 0.8);
  const stats = new SelfStats();
  const hostname = s.hostname || os.hostname();
  const sinks = createSinks(s, { log, stats, hostname, stepSeconds: interval.seconds ?? 60, version: version(), once });
  const agent = new Agent({
    discovery: createDiscovery(s, log),
    collect: new CollectStage(s.discovery.proc_root),
    sinks,
    log,
    hostname,
    stepSeconds: interval.seconds,
    cycleTimeoutMs: timeoutS * 1000,
    stats,
  });
  return { agent, sinks, cycleTimeoutMs: timeoutS * 1000 };
}

/** Starts every sink; one that cannot start (a port in use) stops the agent with its reason. */
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
export async function closeSinks(sinks: Sink[], log: Logger, stats?: SelfStats): Promise<void> {
  const closed = await Promise.allSettled(sinks.map((k) => withTimeout(k.close(), CLOSE_MS)));
  closed.forEach((r, i) => {
    if (r.status === 'fulfilled') return;
    const c = stats?.sink(sinks[i].name);
    const points = c?.buffered ?? 0;
    if (c && points > 0) countDrop(c, 'shutdown', points);
    log.warn({ sink: sinks[i].name, points }, `closing: ${String((r.reason as Error)?.message ?? r.reason)}; ${points} buffered points not delivered`);
  });
}

const CLOSE_MS = 5000;

export async function runOnce(s: Settings, log: Logger): Promise<number> {
  const built = tryBuildAgent(s, log, true);
  if (!built) return 1;
  const { agent, sinks } = built;
  if (!(await startSinks(sinks, log))) return 1;
  const { batch, deliveries } = await agent.runCycle(new Date());
  await closeSinks(sinks, log, agent.stats);
  agent.close();
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
