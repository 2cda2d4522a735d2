// Builds the sinks a configuration enables. Each gets its own counters in the agent's SelfStats
// and only its own resolved section; a sink's library is loaded when the sink is built.
import { Logger } from '../core/log';
import { MetricDef } from '../core/metrics';
import { Sink } from '../core/model';
import { SelfStats } from '../core/self-stats';
import { AnySinkPlugin } from './plugin';

/** A sink as the configuration resolved it. */
export interface SinkSpec {
  plugin: AnySinkPlugin;
  enabled: boolean;
  /** The resolved section: present when enabled, or when the sink runs in --once regardless. */
  cfg?: unknown;
  /**
   * What the sink's behaviour depends on (its raw section and the shared context it is given):
   * a reload keeps a running sink whose identity is unchanged.
   */
  identity: string;
}

export interface SinkEnv {
  log: Logger;
  stats: SelfStats;
  hostname: string;
  version: string;
  copyLabels: readonly string[];
  catalog: readonly MetricDef[];
  /** --once: a pull endpoint that would vanish at exit is not started; stdout always is. */
  once: boolean;
}

/** The specs of the sinks that run in this mode. */
export function activeSinks(specs: readonly SinkSpec[], once: boolean): SinkSpec[] {
  return specs.filter((s) => (once && s.plugin.once ? s.plugin.once === 'always' : s.enabled));
}

export function buildSink(spec: SinkSpec, env: SinkEnv): Sink {
  const name = spec.plugin.name;
  return spec.plugin.create(spec.cfg, {
    log: env.log.child({ sink: name }),
    counters: env.stats.sink(name),
    hostname: env.hostname,
    version: env.version,
    copyLabels: env.copyLabels,
    catalog: env.catalog,
    once: env.once,
  });
}

export function buildSinks(specs: readonly SinkSpec[], env: SinkEnv): Sink[] {
  return activeSinks(specs, env.once).map((s) => buildSink(s, env));
}
