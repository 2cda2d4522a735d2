// The real pipeline (procfs discovery + collection + agent) over the fixture proc tree
// (test/fixtures/proctree), for tests that need batches holding real kernel text's numbers.
import * as path from 'path';
import { Agent } from '../../src/schedule/tick';
import { ActiveCollector, CollectStage, defaultCollectors } from '../../src/collect/stage';
import { ProcfsDiscovery } from '../../src/discover/procfs';
import { Logger, createLogger } from '../../src/core/log';
import { Sink } from '../../src/core/model';
import { SelfStats } from '../../src/core/self-stats';

/** Relative to the repository root (jest's cwd), so paths in messages are the same in every checkout. */
export const FIXTURE_ROOT = path.relative(process.cwd(), path.join(__dirname, '..', 'fixtures', 'proctree'));

export interface PipelineOptions {
  sinks?: Sink[];
  stats?: SelfStats;
  log?: Logger;
  cycleTimeoutMs?: number;
  procRoot?: string;
  /** The collectors (default: those on by default). */
  collectors?: ActiveCollector[];
}

/**
 * The default collectors but orphans: for the sink suites that pin every line they send, written
 * before the orphans collector; its gauge is one more per target, sent like any other gauge.
 */
export const WITHOUT_ORPHANS = (): ActiveCollector[] => defaultCollectors().filter((c) => c.name !== 'orphans');

export function fixturePipeline(o: PipelineOptions = {}): Agent {
  const procRoot = o.procRoot ?? FIXTURE_ROOT;
  return new Agent({
    discovery: new ProcfsDiscovery({ procRoot, copyLabels: [], filter: () => true, hasIncludeFilter: false }),
    collect: new CollectStage(procRoot, o.collectors ?? defaultCollectors()),
    sinks: o.sinks ?? [],
    log: o.log ?? createLogger('silent'),
    hostname: 'fixture-host',
    interval: { period: 60, fixed: true },
    cycleTimeoutMs: o.cycleTimeoutMs ?? 5000,
    ...(o.stats ? { stats: o.stats } : {}),
  });
}
