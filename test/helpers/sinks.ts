// Sinks as the agent builds them, for tests: a plugin's raw section resolved the way the
// configuration loader resolves it, and the context every sink is given.
import { Logger, createLogger } from '../../src/core/log';
import { SelfStats } from '../../src/core/self-stats';
import { SinkContext, SinkPlugin } from '../../src/deliver/plugin';
import { ALL_METRICS } from './metrics';

/** The section resolved by its plugin (throws naming the key, as at load). */
export function resolveSection<C>(plugin: SinkPlugin<C>, raw: object, env: Record<string, string | undefined> = {}): C {
  return plugin.config.resolve(raw as Record<string, unknown>, env);
}

export function sinkContext(name: string, o: { log?: Logger; stats?: SelfStats; hostname?: string; copyLabels?: readonly string[] } = {}): SinkContext {
  return {
    log: o.log ?? createLogger('silent'),
    counters: (o.stats ?? new SelfStats()).sink(name),
    hostname: o.hostname ?? 'h',
    version: '0.0.0',
    copyLabels: o.copyLabels ?? [],
    catalog: ALL_METRICS,
    once: false,
  };
}
