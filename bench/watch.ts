// `npm run bench:watch` (as root): what discovery.watch saves. A Docker discovery cycle with and
// without watch against N running containers on a dockerd of the benchmark's own (engine.ts):
// wall time per discover(), the agent's CPU per cycle (process.cpuUsage), dockerd's CPU per cycle
// (/proc/<pid>/stat, 10 ms ticks, so averaged over many cycles) and the list calls made. The
// watch run uses discovery.resync_cycles as given (default 5), so its means include its resyncs.
// See BENCHMARKS.md ("discovery.watch").
import { parseArgs } from 'util';
import { performance } from 'perf_hooks';
import Docker from 'dockerode';
import { createLogger } from '../src/core/log';
import { compileFilters } from '../src/discover/filters';
import { docker as dockerPlugin } from '../src/discover/docker/plugin';
import { dockerClient } from '../src/discover/docker/client';
import { DockerDiscovery } from '../src/discover/docker/discovery';
import { BenchEngine } from './engine';
import { stats } from './report';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '50,100' }, cycles: { type: 'string', default: '100' }, resync: { type: 'string', default: '5' } } });
const sizes = values.sizes!.split(',').map(Number);
const cycles = Number(values.cycles);
const resync = Number(values.resync);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(engine: BenchEngine, size: number, watch: boolean): Promise<string> {
  const cfg = dockerPlugin.config!.resolve({ host: `unix://${engine.socketPath}`, tls_verify: false, cert_path: '', timeout: 10, inspect_concurrency: 8 }, {});
  const client = dockerClient(cfg);
  let lists = 0;
  const list = client.listContainers.bind(client);
  client.listContainers = ((o: Docker.ContainerListOptions) => (lists++, list(o))) as typeof client.listContainers;
  const shared = {
    procRoot: '/proc',
    copyLabels: [],
    filter: compileFilters({ include_names: [], exclude_names: [], include_labels: [], exclude_labels: [] }),
    hasIncludeFilter: false,
    watch: { enabled: watch, resyncCycles: resync },
  };
  const events = watch ? { client: dockerClient({ ...cfg, timeoutMs: 0, inspectConcurrency: 0 }), log: createLogger('silent') } : undefined;
  const d = new DockerDiscovery(client, { ...shared, concurrency: 8, endpoint: engine.socketPath, timeoutMs: 10_000 }, events);
  // Warm: every container inspected, the stream open, a list made under it.
  for (let i = 0; i < 3; i++) await d.discover(AbortSignal.timeout(30_000));
  await sleep(500);
  for (let i = 0; i < resync; i++) await d.discover(AbortSignal.timeout(30_000));
  const walls: number[] = [];
  lists = 0;
  const cpu0 = process.cpuUsage();
  const e0 = engine.cpuMs();
  let found = 0;
  for (let i = 0; i < cycles; i++) {
    const t = performance.now();
    const r = await d.discover(AbortSignal.timeout(30_000));
    walls.push(performance.now() - t);
    found = r.targets.length;
    if (r.errors.length > 0) throw new Error(`cycle errors: ${JSON.stringify(r.errors)}`);
  }
  const cpu = process.cpuUsage(cpu0);
  const engineMs = (engine.cpuMs() - e0) / cycles;
  await d.close();
  if (found < size + 1) throw new Error(`found ${found} targets, expected ≥ ${size + 1}`);
  const w = stats(walls);
  const mean = walls.reduce((a, b) => a + b, 0) / walls.length;
  const agentMs = (cpu.user + cpu.system) / 1000 / cycles;
  return `| ${size} | ${watch ? `on (resync ${resync})` : 'off'} | ${w.median.toFixed(2)} | ${mean.toFixed(2)} | ${agentMs.toFixed(2)} | ${engineMs.toFixed(2)} | ${lists} / ${cycles} |`;
}

async function main(): Promise<void> {
  const engine = await BenchEngine.start();
  const rows: string[] = [];
  try {
    let running = 0;
    for (const size of sizes) {
      await engine.run(size - running);
      running = size;
      await sleep(1000);
      for (const watch of [false, true, false, true]) rows.push(await measure(engine, size, watch));
    }
  } finally {
    await engine.stop();
  }
  console.log(`${new Date().toISOString().slice(0, 10)}, ${cycles} cycles back to back per row, load before: ${require('os').loadavg()[0].toFixed(2)}`);
  console.log('| containers | watch | discover median ms | discover mean ms | agent CPU ms/cycle | dockerd CPU ms/cycle | list calls |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
