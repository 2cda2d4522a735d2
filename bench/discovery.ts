// `npm run bench:discovery` (as root): what one cycle's discovery costs against real runtimes —
// a private containerd speaking CRI with N pods and a private dockerd with N containers, the same
// engines the integration tests start (test/helpers). Cold: the first discover() of a fresh
// source (every pod new: a status / inspect call each). Steady: later cycles (every pod known:
// the list calls only). Both runtimes are built through the configuration loader, as the agent
// builds them. See BENCHMARKS.md, "Discovery against real runtimes".
import * as os from 'os';
import { parseArgs } from 'util';
import pLimit from 'p-limit';
import { loadConfig } from '../src/config/load';
import { createLogger } from '../src/core/log';
import { Discovery, DiscoveryResult } from '../src/core/model';
import { createDiscovery } from '../src/discover/build';
import { CriClient } from '../src/discover/cri/client';
import { PrivateContainerd } from '../test/helpers/private-containerd';
import { PrivateEngine } from '../test/helpers/private-engine';
import { TEST_IMAGE, TEST_LABEL } from '../test/helpers/paths';
import { runEnvironment } from './preflight';

const USAGE = `Usage: npm run bench:discovery -- [--pods 100] [--cycles 50] [--only cri|docker]
  --pods     pods (CRI) and containers (Docker) to run; each costs ~13 MB of shim
  --cycles   steady-state discover() calls timed (after the cold one and 20 untimed), each followed by the bare list call(s)
  --only     one runtime only
`;

interface Dist {
  median: number;
  p95: number;
  max: number;
}

interface Row {
  runtime: string;
  targets: number;
  coldMs: number;
  /** Wall time of a steady discover(). */
  steady: Dist;
  /** This process's CPU time (user + system) in a steady discover(). */
  cpu: Dist;
  /** The runtime's own answer: the same list call(s) alone, on a client of their own. */
  floor: Dist;
}

/** Steady cycles run untimed before the timed ones. */
const WARMUP_CYCLES = 20;

const dist = (xs: number[]): Dist => ({ median: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: Math.max(...xs) });

/** Wall times of `cycles` calls of `fn`. */
async function timed(cycles: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < cycles; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function timeSource(
  runtime: string,
  overrides: Record<string, unknown>,
  expected: number,
  cycles: number,
  floorCall: () => Promise<unknown>,
): Promise<Row> {
  const { resolved } = loadConfig({ env: {}, overrides });
  const log = createLogger('warn');
  const d: Discovery = createDiscovery(resolved.discovery, log);
  const once = async (): Promise<[number, DiscoveryResult]> => {
    const t0 = performance.now();
    const r = await d.discover(AbortSignal.timeout(60_000));
    return [performance.now() - t0, r];
  };
  try {
    const [coldMs, first] = await once();
    const check = (r: DiscoveryResult): void => {
      // the host target plus one per pod / container, and no error: otherwise the figure means nothing
      if (r.errors.length || r.targets.length !== expected + 1) {
        throw new Error(`${runtime}: ${r.targets.length} targets (expected ${expected + 1}), errors: ${JSON.stringify(r.errors)}`);
      }
    };
    check(first);
    // Warm-up, untimed: the JIT and both connections settle, so a steady figure is steady.
    for (let i = 0; i < WARMUP_CYCLES; i++) {
      check((await once())[1]);
      await floorCall();
    }
    // Then discover() and the bare list call(s) alternate, so both see the same machine.
    const times: number[] = [];
    const cpu: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < cycles; i++) {
      const c0 = process.cpuUsage();
      const [ms, r] = await once();
      const c = process.cpuUsage(c0);
      check(r);
      times.push(ms);
      cpu.push((c.user + c.system) / 1000);
      floor.push(...(await timed(1, floorCall)));
    }
    return { runtime, targets: first.targets.length, coldMs, steady: dist(times), cpu: dist(cpu), floor: dist(floor) };
  } finally {
    await d.close?.();
  }
}

async function benchCri(pods: number, cycles: number): Promise<Row> {
  const rt = await PrivateContainerd.create();
  try {
    const limit = pLimit(4);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: pods }, (_, i) => limit(() => rt.runPod({ name: `bench-${i}`, namespace: 'bench', containers: [{ name: 'app' }] }))));
    process.stderr.write(`bench:discovery: ${pods} pods running (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    const client = new CriClient(rt.socketPath, 60_000);
    try {
      const lists = () => Promise.all([client.listReadySandboxes(), client.listRunningContainers()]);
      return await timeSource('CRI (containerd)', { 'discovery.mode': 'cri', 'cri.endpoint': `unix://${rt.socketPath}` }, pods, cycles, lists);
    } finally {
      client.close();
    }
  } finally {
    await rt.destroy();
  }
}

async function benchDocker(containers: number, cycles: number): Promise<Row> {
  const engine = await PrivateEngine.create();
  try {
    const limit = pLimit(4);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: containers }, (_, i) =>
        limit(async () => {
          const c = await engine.client.createContainer({ name: `bench-${i}`, Image: TEST_IMAGE, Cmd: ['/bin/sleep', '3600'], Labels: { [TEST_LABEL]: '1' }, HostConfig: { NetworkMode: 'none' } });
          await c.start();
        }),
      ),
    );
    process.stderr.write(`bench:discovery: ${containers} containers running (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    const list = () => engine.client.listContainers();
    return await timeSource('Docker', { 'discovery.mode': 'docker', 'docker.host': `unix://${engine.socketPath}` }, containers, cycles, list);
  } finally {
    await engine.destroy();
  }
}

async function main(): Promise<number> {
  const started = performance.now();
  const { values: o } = parseArgs({
    options: {
      pods: { type: 'string', default: '100' },
      cycles: { type: 'string', default: '50' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) return (process.stdout.write(USAGE), 0);
  const [pods, cycles] = [Number(o.pods), Number(o.cycles)];
  if (!(Number.isInteger(pods) && pods > 0 && Number.isInteger(cycles) && cycles > 0) || (o.only && !['cri', 'docker'].includes(o.only))) {
    process.stderr.write(`bench:discovery: bad arguments\n${USAGE}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench:discovery: must run as root (it starts containerd and dockerd)\n');
    return 2;
  }
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const rows: Row[] = [];
  if (o.only !== 'docker') rows.push(await benchCri(pods, cycles));
  if (o.only !== 'cri') rows.push(await benchDocker(pods, cycles));
  const env = runEnvironment('bench:discovery', load, started);
  const f = (x: number): string => x.toFixed(2);
  const out = [
    `\`${env.command}\` — ${env.date}, kernel ${env.kernel}, Node ${env.node}, ${env.cores} cores (${env.cpuModel}), load before ${env.load}`,
    '',
    '| runtime | targets | cold discover() | steady discover(): wall median / p95 | its CPU median / p95 | the list call(s) alone: median / p95 |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.runtime} | ${r.targets} | ${f(r.coldMs)} ms | ${f(r.steady.median)} / ${f(r.steady.p95)} ms | ` +
        `${f(r.cpu.median)} / ${f(r.cpu.p95)} ms | ${f(r.floor.median)} / ${f(r.floor.p95)} ms |`,
    ),
    '',
  ];
  process.stdout.write(out.join('\n'));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench:discovery: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
