// `npm run bench:daemon` (as root): the memory of the whole daemon as users run it. Spawns N network
// namespaces (bench/spawn.ts), starts `bin/sockpulse.js --interval 2 --discovery procfs` with all
// four sinks on — Open-Falcon and OTLP pointed at closed 127.0.0.1 ports (so they buffer), StatsD
// over UDP to a closed port, Prometheus serving on a free port (scraped every --scrape-ms) — and
// stdout output off, samples /proc/<pid>/status (VmRSS, VmHWM) for --seconds, then stops the daemon
// (SIGTERM) and kills every namespace. See BENCHMARKS.md, "The whole daemon".
// By default it runs in a private PID namespace with its own /proc (unshare --pid --mount-proc), so
// the daemon's procfs discovery finds exactly the host and the N namespaces of the run, not those
// other programs on a shared machine hold; the targets are checked to be exactly N + 1.
import { ROOT, preflight, runEnvironment } from './preflight';
import { ChildProcess, spawn } from 'child_process';
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { NsPool } from './spawn';

const SINKS = ['falcon', 'otlp', 'statsd', 'prometheus'] as const;
type SinkName = (typeof SINKS)[number];

const USAGE = `Usage: npm run bench:daemon -- [--namespaces 1000] [--seconds 45] [--interval 2] [--runs 1]
                              [--sinks falcon,otlp,statsd,prometheus] [--scrape-ms 15000]
                              [--env KEY=VALUE ...] [--node-flags="..."] [--shared-proc] [--probe]
  --namespaces   network namespaces held (every 10th with sockmix's 290 sockets); 0: none spawned
                 (measure against namespaces some other process holds)
  --seconds      how long each run of the daemon lasts, from its start
  --interval     the daemon's --interval
  --runs         daemons started one after the other against the same namespaces
  --sinks        sinks enabled (the others off); stdout output is always off
  --scrape-ms    period of GET /metrics on the Prometheus sink (0: never scraped)
  --env          extra environment for the daemon (repeatable), e.g. --env SOCKPULSE_FALCON_BUFFER_BYTES=4194304
  --node-flags=F run \`node F bin/sockpulse.js\` instead of the script (its shebang flags are then not used);
                 give it with "=": --node-flags="--max-semi-space-size=2"; repeat it to compare variants
                 against the same namespaces: run i uses the i-th (--runs is raised to their number)
  --shared-proc  do not run in a private PID namespace: the daemon then reads every namespace
                 on the machine (targets ≥ N + 1)
  --stdout FILE  the daemon's stdout into FILE (with --node-flags="--trace-gc …"); default: discarded
  --log FILE     the daemon's log (--log-level info) into FILE; default: errors only, kept in memory
  --probe        preload dist/bench/mem-probe.js: process.memoryUsage() and heap spaces every second
                 into a file (diagnostics; costs a little memory itself)
  --alloc-profile FILE  with --probe: a sampled allocation profile (.heapprofile, dead objects
                 counted too) of the daemon's first 30 s into FILE
`;

interface RunResult {
  hwmMB: number;
  rssEndMB: number;
  rssMaxMB: number;
  anonEndMB: number;
  /** CPU time (user + system) the daemon used over the run, seconds. */
  cpuS: number;
  timeline: { s: number; rss: number; hwm: number }[];
  metrics: Record<string, number>;
  problems: string[];
  probeFile?: string;
}

let daemon: ChildProcess | undefined;

async function main(): Promise<number> {
  const started = performance.now();
  const { values: o } = parseArgs({
    options: {
      namespaces: { type: 'string', default: '1000' },
      'heavy-every': { type: 'string', default: '10' },
      batch: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '45' },
      interval: { type: 'string', default: '2' },
      runs: { type: 'string', default: '1' },
      sinks: { type: 'string', default: SINKS.join(',') },
      'scrape-ms': { type: 'string', default: '15000' },
      env: { type: 'string', multiple: true, default: [] },
      'node-flags': { type: 'string', multiple: true },
      probe: { type: 'boolean', default: false },
      'alloc-profile': { type: 'string' },
      'shared-proc': { type: 'boolean', default: false },
      stdout: { type: 'string' },
      log: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) return (process.stdout.write(USAGE), 0);
  const variants: (string | undefined)[] = o['node-flags']?.length ? o['node-flags'] : [undefined];
  const [namespaces, heavyEvery, batch, seconds, runsAsked, scrapeMs] = [o.namespaces, o['heavy-every'], o.batch, o.seconds, o.runs, o['scrape-ms']].map(Number);
  const runs = Math.max(runsAsked, variants.length);
  const sinks = o.sinks!.split(',').filter(Boolean) as SinkName[];
  const extraEnv = o.env!.map((kv) => kv.split(/=(.*)/s, 2) as [string, string]);
  if (
    ![heavyEvery, batch, seconds, runs].every((x) => Number.isInteger(x) && x > 0) || !(Number.isInteger(namespaces) && namespaces >= 0) ||
    !(scrapeMs >= 0) ||
    sinks.some((k) => !SINKS.includes(k)) ||
    extraEnv.some(([k, v]) => !k || v === undefined)
  ) {
    process.stderr.write(`bench:daemon: bad arguments\n${USAGE}`);
    return 2;
  }
  const sockmix = preflight('bench:daemon');
  if (!sockmix) return 2;
  const isolated = process.env.SOCKPULSE_BENCH_ISOLATED === '1';
  if (!o['shared-proc'] && !isolated) return reexecIsolated();
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const pool = new NsPool(sockmix);
  const results: RunResult[] = [];
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`bench:daemon: ${sig}: killing the daemon and the namespaces\n`);
    daemon?.kill('SIGKILL');
    void pool.killAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let left: number[] = [];
  try {
    const t0 = performance.now();
    await pool.growTo(namespaces, heavyEvery, batch);
    log(`${namespaces} namespaces up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (let i = 1; i <= runs; i++) {
      const r = await runDaemon({ sinks, seconds, interval: o.interval!, scrapeMs, extraEnv, nodeFlags: variants[(i - 1) % variants.length], probe: o.probe!, allocProfile: o['alloc-profile'], namespaces, isolated, stdout: o.stdout, log: o.log });
      results.push(r);
      log(`run ${i}/${runs}: VmHWM ${r.hwmMB.toFixed(1)} MB, VmRSS at the end ${r.rssEndMB.toFixed(1)} MB${r.problems.length ? `; PROBLEMS: ${r.problems.join('; ')}` : ''}`);
    }
  } finally {
    daemon?.kill('SIGKILL');
    const k = await pool.killAll();
    left = k.left;
    log(left.length === 0 ? `killed ${k.killed} unshare processes; no namespace process left` : `LEFT RUNNING: ${left.join(' ')}`);
  }
  const env = runEnvironment('bench:daemon', load, started);
  const f1 = (x: number): string => x.toFixed(1);
  const lines = [
    `Command: \`${env.command}\``,
    `Date: ${env.date} · kernel ${env.kernel} · Node ${env.node} · ${env.cores} cores (${env.cpuModel}) · ${env.memGB} GB RAM · load average before: ${env.load}`,
    `Daemon: ${variants.map((f) => (f !== undefined ? `node ${f} bin/sockpulse.js` : 'bin/sockpulse.js')).join(' | ')} --interval ${o.interval} --discovery procfs; sinks: ${sinks.join(', ')}${scrapeMs > 0 && sinks.includes('prometheus') ? ` (scraped every ${scrapeMs / 1000} s)` : ''}${extraEnv.length ? `; env: ${extraEnv.map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}; ${namespaces} namespaces; ${seconds} s per run; ${isolated ? 'in a private PID namespace (the daemon sees only the run\'s processes)' : 'reading the whole machine\'s /proc'}`,
    '',
    '| run | node flags | VmHWM MB | VmRSS max sampled MB | VmRSS at end MB | RssAnon at end MB | CPU s | cycles (ticks skipped) | targets | falcon buffered / dropped | otlp buffered / dropped |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map((r, i) => {
      const m = r.metrics;
      const bd = (k: string): string => (m[`buffered:${k}`] === undefined ? '-' : `${m[`buffered:${k}`]} / ${m[`dropped:${k}`] ?? 0}`);
      const flags = variants[i % variants.length];
      return `| ${i + 1} | ${flags !== undefined ? `\`${flags}\`` : 'shebang'} | ${f1(r.hwmMB)} | ${f1(r.rssMaxMB)} | ${f1(r.rssEndMB)} | ${f1(r.anonEndMB)} | ${f1(r.cpuS)} | ${m.cycles ?? '-'} (${m.ticks_skipped ?? '-'}) | ${m.targets ?? '-'} | ${bd('falcon')} | ${bd('otlp')} |`;
    }),
    '',
    `VmRSS every 5 s (run 1): ${results[0]?.timeline.filter((_, i) => i % 25 === 0).map((p) => `${p.s.toFixed(0)}s ${f1(p.rss)}`).join(', ') ?? '-'}`,
    ...(results.some((r) => r.probeFile) ? [`Probe files: ${results.map((r) => r.probeFile).join(' ')}`] : []),
    '',
    `Peak VmHWM over ${results.length} run(s): ${f1(Math.max(...results.map((r) => r.hwmMB)))} MB (min ${f1(Math.min(...results.map((r) => r.hwmMB)))} MB)`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  const problems = results.flatMap((r) => r.problems);
  return left.length > 0 || problems.length > 0 ? 1 : 0;
}

async function runDaemon(p: {
  sinks: SinkName[];
  seconds: number;
  interval: string;
  scrapeMs: number;
  extraEnv: [string, string][];
  nodeFlags: string | undefined;
  probe: boolean;
  allocProfile: string | undefined;
  namespaces: number;
  isolated: boolean;
  stdout: string | undefined;
  log: string | undefined;
}): Promise<RunResult> {
  const on = (k: SinkName): string => String(p.sinks.includes(k));
  const [falconPort, otlpPort, promPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
  const statsdPort = await freeUdpPort();
  // Nothing of the caller's environment that could configure the agent or Node.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SOCKPULSE_|OTEL_|DOCKER_|NODE_OPTIONS$)/.test(k)));
  delete base.SOCKPULSE_BENCH_ISOLATED;
  const probeFile = p.probe ? path.join(os.tmpdir(), `sockpulse-probe-${process.pid}-${Date.now()}.jsonl`) : undefined;
  const env: NodeJS.ProcessEnv = {
    ...base,
    SOCKPULSE_OUTPUT_ENABLED: 'false',
    SOCKPULSE_FALCON_ENABLED: on('falcon'),
    SOCKPULSE_FALCON_URL: `http://127.0.0.1:${falconPort}/v1/push`,
    SOCKPULSE_OTLP_ENABLED: on('otlp'),
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${otlpPort}/v1/metrics`,
    SOCKPULSE_STATSD_ENABLED: on('statsd'),
    SOCKPULSE_STATSD_PROTOCOL: 'udp',
    SOCKPULSE_STATSD_PORT: String(statsdPort),
    SOCKPULSE_PROMETHEUS_ENABLED: on('prometheus'),
    SOCKPULSE_PROMETHEUS_LISTEN: `127.0.0.1:${promPort}`,
    ...(probeFile ? { NODE_OPTIONS: `--require ${path.join(__dirname, 'mem-probe.js')}`, SOCKPULSE_BENCH_PROBE_FILE: probeFile } : {}),
    ...(probeFile && p.allocProfile ? { SOCKPULSE_BENCH_ALLOC_PROFILE: p.allocProfile } : {}),
    ...Object.fromEntries(p.extraEnv),
  };
  const bin = path.join(ROOT, 'bin', 'sockpulse.js');
  const args = ['--interval', p.interval, '--discovery', 'procfs', '--log-level', p.log !== undefined ? 'info' : 'error'];
  const out = p.stdout !== undefined ? fs.openSync(p.stdout, 'a') : 'ignore';
  const stdio: ['ignore', number | 'ignore', 'pipe'] = ['ignore', out, 'pipe'];
  const proc =
    p.nodeFlags !== undefined
      ? spawn(process.execPath, [...p.nodeFlags.split(/\s+/).filter(Boolean), bin, ...args], { env, stdio })
      : spawn(bin, args, { env, stdio });
  if (typeof out === 'number') fs.closeSync(out);
  daemon = proc;
  let stderr = '';
  const logFd = p.log !== undefined ? fs.openSync(p.log, 'a') : undefined;
  proc.stderr!.on('data', (d: Buffer) => {
    if (logFd !== undefined) fs.writeSync(logFd, d);
    stderr = (stderr + d.toString()).slice(-4000);
  });
  proc.on('close', () => logFd !== undefined && fs.closeSync(logFd));
  const exited = new Promise<number | string>((resolve) => proc.on('close', (c, sig) => resolve(c ?? sig ?? 'unknown')));
  let gone = false;
  void exited.then(() => (gone = true));
  const problems: string[] = [];
  const timeline: RunResult['timeline'] = [];
  const t0 = performance.now();
  let rssMax = 0;
  let last: Status | undefined;
  const scraper =
    p.sinks.includes('prometheus') && p.scrapeMs > 0 ? setInterval(() => void scrape(promPort).catch(() => undefined), p.scrapeMs) : undefined;
  while (performance.now() - t0 < p.seconds * 1000 && !gone) {
    const st = status(proc.pid!);
    if (st) {
      last = st;
      rssMax = Math.max(rssMax, st.rss);
      timeline.push({ s: (performance.now() - t0) / 1000, rss: st.rss, hwm: st.hwm });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (scraper) clearInterval(scraper);
  let metrics: Record<string, number> = {};
  let cpuS = NaN;
  if (gone) problems.push(`the daemon exited early (${await exited}): ${stderr.trim().slice(-500)}`);
  else {
    if (p.sinks.includes('prometheus')) {
      try {
        metrics = parseMetrics(await scrape(promPort));
        const want = p.namespaces + 1;
        if (p.isolated ? metrics.targets !== want : !(metrics.targets >= want)) {
          problems.push(`the last cycle read ${metrics.targets} targets, expected ${p.isolated ? '' : '≥ '}${want}`);
        }
      } catch (err) {
        problems.push(`GET /metrics failed: ${(err as Error).message}`);
      }
    }
    last = status(proc.pid!) ?? last;
    cpuS = cpuSeconds(proc.pid!);
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    if (code !== 0) problems.push(`the daemon exited with ${code} after SIGTERM: ${stderr.trim().slice(-500)}`);
  }
  daemon = undefined;
  if (!last) throw new Error('no /proc/<pid>/status sample of the daemon');
  return { hwmMB: last.hwm, rssEndMB: last.rss, rssMaxMB: rssMax, anonEndMB: last.anon, cpuS, timeline, metrics, problems, probeFile };
}

/** utime + stime of a process (/proc/<pid>/stat fields 14 and 15), seconds (USER_HZ = 100). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/**
 * Runs this script again as the first process of a new PID namespace with its own /proc, and
 * resolves with its exit code. Everything it starts dies with it (the namespace's init).
 */
function reexecIsolated(): Promise<number> {
  log('running in a private PID namespace (unshare --pid --fork --mount-proc); --shared-proc to read the whole machine');
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', '--', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, SOCKPULSE_BENCH_ISOLATED: '1' },
  });
  const forward = (sig: NodeJS.Signals): void => void child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => child.on('close', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
}

interface Status {
  rss: number;
  hwm: number;
  anon: number;
}

/** VmRSS, VmHWM and RssAnon of a process, MB; undefined once it is gone. */
function status(pid: number): Status | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon') };
}

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      })
      .on('error', reject)
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error('timeout'));
      });
  });
}

/** The few self-metrics the report shows: targets, cycles, ticks skipped, and buffered / dropped points per push sink. */
function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    let m = /^sockpulse_agent_(targets|cycles_total|ticks_skipped_total)(?:\{\})? (\S+)$/.exec(line);
    if (m) out[m[1].replace(/_total$/, '')] = Number(m[2]);
    m = /^sockpulse_agent_sink_buffered(?:_points)?\{.*sink="(\w+)".*\} (\S+)$/.exec(line);
    if (m) out[`buffered:${m[1]}`] = Number(m[2]);
    m = /^sockpulse_agent_sink_dropped(?:_points)?_total\{.*sink="(\w+)".*\} (\S+)$/.exec(line);
    if (m) out[`dropped:${m[1]}`] = (out[`dropped:${m[1]}`] ?? 0) + Number(m[2]);
  }
  return out;
}

/** A TCP port nothing listens on (bound, then closed again). */
async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function log(msg: string): void {
  process.stderr.write(`[bench:daemon ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`bench:daemon: ${(err as Error).stack ?? err}\n`);
    daemon?.kill('SIGKILL');
    process.exitCode = 1;
  },
);
