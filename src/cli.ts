// Command line: flags, --once or daemon, exit codes (0 ok, 1 the cycle had errors or the agent
// failed, 2 bad usage or configuration).
import * as os from 'os';
import { parseArgs } from 'util';
import { Agent } from './agent';
import { CollectStage } from './collect';
import { ConfigError, loadConfig } from './config/load';
import { Settings } from './config/schema';
import { createDiscovery } from './discovery';
import { createLogger, Logger } from './log';
import { Sink } from './model';
import { parseInterval, startSchedule } from './schedule';
import { createSinks } from './sinks';
import { SelfStats } from './self-stats';

const USAGE = `Usage: sockpulse [options]

Collects per-network-namespace connection statistics for every container on this host.

Options:
  -c, --config FILE      configuration file (YAML or JSON)
      --once             run one cycle, print it, exit (0 ok, 1 the cycle had errors)
      --interval N|CRON  collection interval in seconds, or a cron expression
      --discovery MODE   auto | docker | procfs | netns
      --format FMT       table | json
      --proc-root DIR    proc filesystem to read (default /proc)
      --log-level LEVEL  fatal | error | warn | info | debug | trace | silent
      --print-config     print the effective configuration and exit
  -h, --help             this text
  -V, --version          the version

Every option can also be set in the configuration file or the environment (SOCKPULSE_*);
flags win over the environment, which wins over the file.
`;

/** Flag name → configuration key. */
const FLAG_KEYS = {
  interval: 'interval',
  discovery: 'discovery.mode',
  format: 'output.format',
  'proc-root': 'discovery.proc_root',
  'log-level': 'log.level',
} as const;

export async function main(argv: string[]): Promise<number> {
  let flags: ReturnType<typeof parse>;
  try {
    flags = parse(argv);
  } catch (err) {
    process.stderr.write(`sockpulse: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  let loaded: ReturnType<typeof loadConfig>;
  try {
    const overrides = Object.fromEntries(Object.entries(FLAG_KEYS).map(([flag, key]) => [key, flags[flag as keyof typeof FLAG_KEYS]]));
    loaded = loadConfig({ file: flags.config, overrides });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`sockpulse: invalid configuration: ${err.message}\n`);
    return 2;
  }
  if (flags['print-config']) {
    process.stdout.write(`${loaded.printable()}\n`);
    return 0;
  }
  const s = loaded.settings;
  const log = createLogger(s.log.level);
  return flags.once ? runOnce(s, log) : runDaemon(s, log);
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      once: { type: 'boolean' },
      interval: { type: 'string' },
      discovery: { type: 'string' },
      format: { type: 'string' },
      'proc-root': { type: 'string' },
      'log-level': { type: 'string' },
      'print-config': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  return values;
}

function buildAgent(s: Settings, log: Logger, once: boolean): { agent: Agent; sinks: Sink[] } {
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
  return { agent, sinks };
}

/** Starts every sink; one that cannot start (a port in use) stops the agent with its reason. */
async function startSinks(sinks: Sink[], log: Logger): Promise<boolean> {
  const started = await Promise.allSettled(sinks.map((k) => k.start()));
  const failed = started.flatMap((r, i) => (r.status === 'rejected' ? [{ sink: sinks[i].name, error: String((r.reason as Error)?.message ?? r.reason) }] : []));
  for (const f of failed) log.fatal({ sink: f.sink }, `cannot start sink ${f.sink}: ${f.error}`);
  if (failed.length > 0) await closeSinks(sinks, log);
  return failed.length === 0;
}

/** close() flushes: bounded, and one sink's failure does not keep the others from flushing. */
async function closeSinks(sinks: Sink[], log: Logger): Promise<void> {
  const closed = await Promise.allSettled(sinks.map((k) => withTimeout(k.close(), 5000)));
  closed.forEach((r, i) => r.status === 'rejected' && log.warn({ sink: sinks[i].name }, `closing: ${String((r.reason as Error)?.message ?? r.reason)}`));
}

async function runOnce(s: Settings, log: Logger): Promise<number> {
  const { agent, sinks } = buildAgent(s, log, true);
  if (!(await startSinks(sinks, log))) return 1;
  const { batch, deliveries } = await agent.runCycle(new Date());
  await closeSinks(sinks, log);
  const delivered = deliveries.every((d) => d.result.status === 'ok');
  return batch.errors.length === 0 && delivered ? 0 : 1;
}

async function runDaemon(s: Settings, log: Logger): Promise<number> {
  const { agent, sinks } = buildAgent(s, log, false);
  if (!(await startSinks(sinks, log))) return 1;
  const interval = parseInterval(s.interval);
  const schedule = startSchedule(interval, (at) => agent.tick(at));
  log.info({ interval: s.interval, discovery: s.discovery.mode, sinks: sinks.map((k) => k.name) }, 'sockpulse started');
  await new Promise<void>((resolve) => {
    const stop = (sig: NodeJS.Signals): void => {
      log.info({ signal: sig }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await schedule.stop();
  await withTimeout(agent.idle(), 4000).catch(() => log.warn('abandoning the running cycle at shutdown'));
  await closeSinks(sinks, log);
  return 0;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    t.unref();
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}
