// Builds the enabled sinks. Each gets its own counters in the agent's SelfStats.
import { Settings } from '../config/schema';
import { Logger } from '../core/log';
import { Sink } from '../core/model';
import { SelfStats } from '../core/self-stats';
import { SinkContext } from './context';
import { StdoutSink } from './stdout/sink';

// Each backend's library is loaded only when its sink is enabled (OpenTelemetry alone costs
// ~15 MB of RSS, prom-client ~11 MB): an agent pushing to Open-Falcon carries neither.
/* eslint-disable @typescript-eslint/no-require-imports */
const load = {
  falcon: () => (require('./falcon/sink') as typeof import('./falcon/sink')).FalconSink,
  statsd: () => (require('./statsd/sink') as typeof import('./statsd/sink')).StatsdSink,
  otlp: () => (require('./otlp/sink') as typeof import('./otlp/sink')).OtlpSink,
  prometheus: () => (require('./prometheus/sink') as typeof import('./prometheus/sink')).PrometheusSink,
};
/* eslint-enable @typescript-eslint/no-require-imports */

export interface SinkEnv {
  log: Logger;
  stats: SelfStats;
  hostname: string;
  stepSeconds: number;
  version: string;
  /** --once: a pull endpoint that would vanish at exit is not started. */
  once: boolean;
}

export function createSinks(s: Settings, env: SinkEnv): Sink[] {
  const ctx = (name: string): SinkContext => ({
    log: env.log.child({ sink: name }),
    counters: env.stats.sink(name),
    hostname: env.hostname,
    stepSeconds: env.stepSeconds,
    version: env.version,
    copyLabels: s.docker.copy_labels,
  });
  const k = s.sinks;
  const sinks: Sink[] = [];
  if (s.output.enabled || env.once) {
    sinks.push(new StdoutSink(s.output.format as 'table' | 'json', process.stdout, { log: env.log.child({ sink: 'stdout' }), counters: () => env.stats.sink('stdout'), once: env.once }));
  }
  if (k.falcon.enabled) sinks.push(new (load.falcon())(k.falcon, ctx('falcon')));
  if (k.statsd.enabled) sinks.push(new (load.statsd())(k.statsd, ctx('statsd')));
  if (k.otlp.enabled) sinks.push(new (load.otlp())(k.otlp, ctx('otlp')));
  if (k.prometheus.enabled && !env.once) sinks.push(new (load.prometheus())(k.prometheus, ctx('prometheus')));
  return sinks;
}
