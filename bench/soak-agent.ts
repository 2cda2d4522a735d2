// The soaked process (started by bench/soak.ts with the Node flags of bin/sockpulse.js): the real
// Agent — procfs discovery, collection, and the Open-Falcon, StatsD, OTLP and Prometheus sinks,
// built by the same functions the CLI uses (src/app/pipeline.ts) — running `Agent.runCycle` back to back instead of
// once a second. Prints one JSON line per cycle ({"t":"c"}) so the driver can time its churn and
// outages, and every --sample-every cycles a sample ({"t":"s"}) of what could grow.
//
//   node --max-semi-space-size=2 --heap-growing-percent=20 dist/bench/soak-agent.js --cycles 10000 --sample-every 100 \
//     --falcon-port P --statsd-port P --otlp-port P --prom-port P
import * as fs from 'fs';
import { monitorEventLoopDelay } from 'perf_hooks';
import { parseArgs } from 'util';
import * as v8 from 'v8';
import * as vm from 'vm';

export interface SoakSample {
  t: 's';
  cycle: number;
  /** Seconds since the first cycle began. */
  elapsedS: number;
  rssMB: number;
  /** heapUsed as found (young generation included). */
  heapMB: number;
  /** heapUsed right after a full GC: the live data. */
  liveHeapMB: number;
  externalMB: number;
  /** process.getActiveResourcesInfo().length, and by kind. */
  handles: number;
  handleKinds: Record<string, number>;
  /** Entries of /proc/self/fd (the directory's own descriptor not counted). */
  fds: number;
  /** Event-loop delay over the window since the previous sample, ms. */
  eldP50: number;
  eldP99: number;
  eldMax: number;
  /** runCycle wall time over the window, ms. */
  cycleP50: number;
  cycleP99: number;
  targets: number;
  /** Cycles of the window with a discover/collect error, and deliveries that were not ok. */
  errorCycles: number;
  notOk: Record<string, number>;
  sinks: Record<string, { sent: number; retried: number; buffered: number; dropped: Record<string, number> }>;
}

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    options: {
      cycles: { type: 'string', default: '10000' },
      'sample-every': { type: 'string', default: '100' },
      'falcon-port': { type: 'string' },
      'statsd-port': { type: 'string' },
      'otlp-port': { type: 'string' },
      'prom-port': { type: 'string' },
    },
  });
  const cycles = Number(o.cycles);
  const sampleEvery = Number(o['sample-every']);

  // A full GC before measuring the live heap (the RSS is read before it, as users would see it).
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;

  const { loadConfig } = await import('../src/config/load');
  const { tryBuild } = await import('../src/app/pipeline');
  const { SelfStats } = await import('../src/core/self-stats');
  const { createLogger } = await import('../src/core/log');

  const delivery = (sink: string) => ({
    [`sinks.${sink}.enabled`]: true,
    // Fast cycles need fast retries, or the backoff would skip most of them.
    [`sinks.${sink}.backoff_initial`]: 0.01,
    [`sinks.${sink}.backoff_max`]: 0.05,
  });
  const { resolved: r } = loadConfig({
    env: {},
    overrides: {
      interval: '1',
      cycle_timeout: 1,
      'discovery.mode': 'procfs',
      'output.enabled': false,
      'log.level': 'warn',
      ...delivery('falcon'),
      'sinks.falcon.url': `http://127.0.0.1:${o['falcon-port']}/v1/push`,
      'sinks.statsd.enabled': true,
      'sinks.statsd.port': Number(o['statsd-port']),
      ...delivery('otlp'),
      'sinks.otlp.endpoint': `http://127.0.0.1:${o['otlp-port']}/v1/metrics`,
      'sinks.prometheus.enabled': true,
      'sinks.prometheus.listen': `127.0.0.1:${o['prom-port']}`,
    },
  });
  const log = createLogger(r.logLevel);
  const stats = new SelfStats();
  const built = tryBuild({ ...r, hostname: 'soak' }, log, stats, false);
  if (!built) throw new Error('the soak agent could not be built');
  const { agent } = built;
  const sinks = built.sinks.map((k) => k.sink);
  await Promise.all(sinks.map((k) => k.start()));

  let stop = false;
  process.once('SIGTERM', () => (stop = true));
  process.once('SIGINT', () => (stop = true));

  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  const t0 = performance.now();
  let win: number[] = [];
  let errorCycles = 0;
  let notOk: Record<string, number> = {};
  let targets = 0;
  for (let i = 1; i <= cycles && !stop; i++) {
    const c0 = performance.now();
    const { batch, deliveries } = await agent.runCycle(new Date());
    win.push(performance.now() - c0);
    targets = batch.results.length;
    if (batch.errors.length > 0) errorCycles++;
    for (const d of deliveries) if (d.result.status !== 'ok') notOk[d.sink] = (notOk[d.sink] ?? 0) + 1;
    process.stdout.write(`{"t":"c","i":${i}}\n`);
    if (i % sampleEvery === 0) {
      const mem = process.memoryUsage();
      const rssMB = mem.rss / MB;
      const info = process.getActiveResourcesInfo();
      const handleKinds: Record<string, number> = {};
      for (const k of info) handleKinds[k] = (handleKinds[k] ?? 0) + 1;
      const fds = fs.readdirSync('/proc/self/fd').length - 1;
      gc();
      const liveHeapMB = process.memoryUsage().heapUsed / MB;
      const snap = agent.stats.snapshot();
      const sorted = [...win].sort((a, b) => a - b);
      const sample: SoakSample = {
        t: 's',
        cycle: i,
        elapsedS: (performance.now() - t0) / 1000,
        rssMB,
        heapMB: mem.heapUsed / MB,
        liveHeapMB,
        externalMB: mem.external / MB,
        handles: info.length,
        handleKinds,
        fds,
        eldP50: eld.percentile(50) / 1e6,
        eldP99: eld.percentile(99) / 1e6,
        eldMax: eld.max / 1e6,
        cycleP50: sorted[Math.floor((sorted.length - 1) / 2)],
        cycleP99: sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)],
        targets,
        errorCycles,
        notOk,
        sinks: Object.fromEntries(
          Object.entries(snap.sinks).map(([name, c]) => [name, { sent: c.sent, retried: c.retried, buffered: c.buffered, dropped: c.dropped }]),
        ),
      };
      process.stdout.write(`${JSON.stringify(sample)}\n`);
      win = [];
      errorCycles = 0;
      notOk = {};
      eld.reset(); // after the forced GC, so its pause is not counted
    }
    await new Promise((r) => setImmediate(r));
  }
  const closed = await Promise.allSettled(sinks.map((k) => k.close()));
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ t: 'end', peakRssMB, closeFailures: closed.filter((r) => r.status === 'rejected').length })}\n`);
  eld.disable();
}

main().catch((err) => {
  process.stderr.write(`soak-agent: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
