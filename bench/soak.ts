// `npm run soak` (as root): the real agent (bench/soak-agent.ts, in its own Node process) runs
// thousands of cycles back to back while this driver churns its network namespaces (bench/spawn.ts)
// and takes its backends down and up; RSS, live heap, open handles, open descriptors and event-loop
// delay are sampled over time and judged flat or not. See SOAK.md.
import { ROOT, preflight, runEnvironment } from './preflight';
import { ChildProcess, spawn } from 'child_process';
import * as dgram from 'dgram';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { parseArgs } from 'util';
import type { SoakSample } from './soak-agent';
import { BenchNs, NsPool } from './spawn';

const USAGE = `Usage: npm run soak -- [--cycles 10000] [--namespaces 200] [--churn-every 20] [--churn-count 20]
                       [--outage-every 500] [--outage-len 100] [--sample-every 50] [--heavy-every 10]
                       [--scrape-ms 1000] [--max-minutes 0] [--write]
  --cycles        agent cycles, back to back (Agent.runCycle with every sink enabled)
  --namespaces    network namespaces held throughout (unshare -n; every --heavy-every-th holds sockmix)
  --churn-every   every this many cycles, --churn-count namespaces are killed and as many new ones spawned
  --outage-every  every this many cycles the backends go down for --outage-len cycles: the Open-Falcon
                  receiver stops listening, the StatsD socket closes, the OTLP endpoint answers 503
  --sample-every  cycles between samples of RSS, heap, handles, fds, event-loop delay
  --scrape-ms     period of the Prometheus scrapes of the agent's /metrics
  --max-minutes   stop the agent (SIGTERM: it ends its cycle and closes its sinks) after this long,
                  even before --cycles; 0: no limit. The figures say how many cycles ran.
  --write         rewrite the figures section of SOAK.md
`;

interface Backends {
  falconItems: number;
  falconRequests: number;
  statsdDatagrams: number;
  otlpOk: number;
  otlp503: number;
  scrapesOk: number;
  scrapesFailed: number;
  down: boolean;
}

let agentProc: ChildProcess | undefined;
/** Set by SIGINT/SIGTERM: the agent's death is then expected, not an error. */
let stopping = false;

async function main(): Promise<number> {
  const started = performance.now();
  const { values: o } = parseArgs({
    options: {
      cycles: { type: 'string', default: '10000' },
      namespaces: { type: 'string', default: '200' },
      'churn-every': { type: 'string', default: '20' },
      'churn-count': { type: 'string', default: '20' },
      'outage-every': { type: 'string', default: '500' },
      'outage-len': { type: 'string', default: '100' },
      'sample-every': { type: 'string', default: '50' },
      'max-minutes': { type: 'string', default: '0' },
      'heavy-every': { type: 'string', default: '10' },
      'scrape-ms': { type: 'string', default: '1000' },
      write: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) return (process.stdout.write(USAGE), 0);
  const n = (k: keyof typeof o): number => Number(o[k]);
  const [cycles, namespaces, churnEvery, churnCount, outageEvery, outageLen, sampleEvery, heavyEvery, scrapeMs] = (
    ['cycles', 'namespaces', 'churn-every', 'churn-count', 'outage-every', 'outage-len', 'sample-every', 'heavy-every', 'scrape-ms'] as const
  ).map(n);
  if (![cycles, namespaces, churnEvery, outageEvery, outageLen, sampleEvery, heavyEvery, scrapeMs].every((x) => Number.isInteger(x) && x > 0) || !(churnCount >= 0) || churnCount > namespaces || outageLen >= outageEvery) {
    process.stderr.write(`soak: bad arguments\n${USAGE}`);
    return 2;
  }
  if (cycles < 4 * sampleEvery) {
    process.stderr.write('soak: --cycles must be at least 4 × --sample-every (the verdict compares quarters)\n');
    return 2;
  }
  const sockmix = preflight('soak');
  if (!sockmix) return 2;
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const pool = new NsPool(sockmix);
  const b: Backends = { falconItems: 0, falconRequests: 0, statsdDatagrams: 0, otlpOk: 0, otlp503: 0, scrapesOk: 0, scrapesFailed: 0, down: false };
  const falcon = new Toggle(http.createServer((req, res) => falconHandler(req, res, b)));
  const otlp = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // Alternates 200 / 503 (the agent's retry then gets a 200); 503 for everything while down.
      const ok = !b.down && (b.otlpOk + b.otlp503) % 2 === 0;
      if (ok) b.otlpOk++;
      else b.otlp503++;
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/x-protobuf' }).end();
    });
  });
  let statsd: dgram.Socket | undefined;
  let scraper: NodeJS.Timeout | undefined;
  let churns = 0;
  let churnsSkipped = 0;
  let churning: Promise<unknown> | undefined;
  let spawned = 0;
  let outages = 0;
  const samples: SoakSample[] = [];
  let end: { peakRssMB: number; closeFailures: number } | undefined;
  const log = (msg: string): void => void process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

  const cleanup = async (): Promise<{ killed: number; left: number[] }> => {
    if (scraper) clearInterval(scraper);
    agentProc?.kill('SIGKILL');
    await falcon.down();
    statsd?.close();
    statsd = undefined;
    otlp.closeAllConnections();
    otlp.close();
    await churning?.catch(() => undefined);
    return pool.killAll();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    stopping = true;
    log(`${sig}: stopping the agent, the backends and the namespaces`);
    void cleanup().then(({ killed, left }) => {
      log(left.length === 0 ? `killed ${killed} unshare processes; no namespace process left` : `LEFT RUNNING: ${left.join(' ')}`);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let left: number[] = [];
  let killed = 0;
  try {
    const falconPort = await falcon.up(0);
    const otlpPort = await listen(otlp, 0);
    const statsdPort = await statsdUp(0);
    const promPort = await freePort();
    async function statsdUp(port: number): Promise<number> {
      const sock = dgram.createSocket('udp4');
      sock.on('message', () => b.statsdDatagrams++);
      await new Promise<void>((resolve, reject) => sock.once('error', reject).bind(port, '127.0.0.1', () => resolve()));
      statsd = sock;
      return sock.address().port;
    }

    const t0 = performance.now();
    await pool.growTo(namespaces, heavyEvery, 50);
    spawned += namespaces;
    log(`${namespaces} namespaces up in ${((performance.now() - t0) / 1000).toFixed(1)} s; starting ${cycles} agent cycles`);

    const agentLog = path.join(os.tmpdir(), `sockpulse-soak-${process.pid}.log`);
    const logFd = fs.openSync(agentLog, 'w');
    const proc = spawn(
      process.execPath,
      [...binNodeFlags(), path.join(__dirname, 'soak-agent.js'), '--cycles', String(cycles), '--sample-every', String(sampleEvery),
        '--falcon-port', String(falconPort), '--statsd-port', String(statsdPort), '--otlp-port', String(otlpPort), '--prom-port', String(promPort)],
      { stdio: ['ignore', 'pipe', logFd] },
    );
    fs.closeSync(logFd);
    agentProc = proc;
    const maxMs = Number(o['max-minutes']) * 60_000;
    const limit = maxMs > 0 ? setTimeout(() => (log(`--max-minutes ${o['max-minutes']} reached: stopping the agent`), proc.kill('SIGTERM')), maxMs) : undefined;

    scraper = setInterval(() => {
      http
        .get({ host: '127.0.0.1', port: promPort, path: '/metrics', timeout: 5000 }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? b.scrapesOk++ : b.scrapesFailed++));
        })
        .on('error', () => b.scrapesFailed++)
        .on('timeout', function (this: http.ClientRequest) {
          this.destroy();
        });
    }, scrapeMs);

    const onCycle = (i: number): void => {
      if (i % outageEvery === 0) {
        b.down = true;
        outages++;
        void falcon.down();
        statsd?.close();
        statsd = undefined;
      } else if (i % outageEvery === outageLen && b.down) {
        b.down = false;
        void falcon.up(falconPort);
        void statsdUp(statsdPort).catch((e) => log(`statsd receiver: ${(e as Error).message}`));
      }
      if (churnCount > 0 && i % churnEvery === 0) {
        if (churning) {
          churnsSkipped++;
          return;
        }
        const victims = pickRandom(pool.all, churnCount);
        churns++;
        churning = pool
          .replace(victims)
          .then((made: BenchNs[]) => (spawned += made.length))
          .catch((e) => log(`churn failed: ${(e as Error).message}`))
          .finally(() => (churning = undefined));
      }
    };

    const rl = readline.createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      const m = JSON.parse(line) as { t: string; i?: number };
      if (m.t === 'c') onCycle(m.i!);
      else if (m.t === 's') {
        const s = m as unknown as SoakSample;
        samples.push(s);
        if (s.cycle % (sampleEvery * 10) === 0 || s.cycle === sampleEvery) {
          log(`cycle ${s.cycle}: rss ${s.rssMB.toFixed(1)} MB, live heap ${s.liveHeapMB.toFixed(1)} MB, handles ${s.handles}, fds ${s.fds}, eld p99 ${s.eldP99.toFixed(1)} ms, cycle p50 ${s.cycleP50.toFixed(1)} ms, targets ${s.targets}`);
        }
      } else if (m.t === 'end') end = m as unknown as typeof end;
    });
    const code = await new Promise<number | string>((resolve) => proc.on('close', (c, sig) => resolve(c ?? sig ?? 'unknown')));
    agentProc = undefined;
    clearTimeout(limit);
    if (stopping) return new Promise<number>(() => undefined); // the signal handler exits
    if (code !== 0) throw new Error(`soak-agent exited with ${code}; its log: ${agentLog}`);
    log(`agent done; its log (${fs.statSync(agentLog).size} bytes): ${agentLog}`);
  } finally {
    ({ killed, left } = await cleanup());
    log(left.length === 0 ? `killed ${killed} unshare processes; no namespace process left` : `LEFT RUNNING: ${left.join(' ')}`);
  }

  const env = runEnvironment('soak', load, started);
  const verdict = judge(samples);
  const text = figures(env, { cycles, namespaces, churnEvery, churnCount, outageEvery, outageLen, sampleEvery, scrapeMs }, samples, verdict, b, {
    churns,
    churnsSkipped,
    spawned,
    outages,
    peakRssMB: end?.peakRssMB ?? NaN,
    left: left.length,
  });
  process.stdout.write(`\n${text}\n`);
  if (o.write) {
    writeFigures(path.join(ROOT, 'SOAK.md'), text);
    log('SOAK.md figures section rewritten');
  }
  return left.length > 0 ? 1 : verdict.every((v) => v.ok) ? 0 : 1;
}

/** An HTTP server that can stop listening (connections refused) and listen again on its port. */
class Toggle {
  private listening = false;
  constructor(private readonly server: http.Server) {}
  async up(port: number): Promise<number> {
    if (!this.listening) await listen(this.server, port);
    this.listening = true;
    return (this.server.address() as net.AddressInfo).port;
  }
  async down(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

const ENDPOINT_KEY = Buffer.from('"endpoint":');

/** A minimal Open-Falcon agent /v1/push: counts the items of each JSON array, answers "success". */
function falconHandler(req: http.IncomingMessage, res: http.ServerResponse, b: Backends): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    b.falconRequests++;
    // Counts items by their "endpoint" key instead of JSON.parse: the receiver shares the two
    // cores with the agent, and parsing ~4000 items a cycle would slow the agent down.
    const body = Buffer.concat(chunks);
    if (body[0] !== 0x5b) return void res.writeHead(400).end('not a JSON array');
    for (let at = body.indexOf(ENDPOINT_KEY); at >= 0; at = body.indexOf(ENDPOINT_KEY, at + 1)) b.falconItems++;
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('success');
  });
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s, 0);
  await new Promise((r) => s.close(r));
  return port;
}

function pickRandom<T>(xs: T[], k: number): T[] {
  const copy = [...xs];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, k);
}

/** The Node flags the shipped binary runs with (its shebang line), as bench/run.ts does. */
function binNodeFlags(): string[] {
  const first = fs.readFileSync(path.join(ROOT, 'bin', 'sockpulse.js'), 'utf8').split('\n')[0];
  return first.split(/\s+/).filter((w) => w.startsWith('--'));
}

// ---- verdict ----

interface Judged {
  metric: string;
  q2: number;
  q4: number;
  allowed: number;
  /** Least-squares slope over the second half of the run, per 1000 cycles. */
  slopePer1k: number;
  ok: boolean;
}

/**
 * Flat = the median over the last quarter's samples is at most the second quarter's median plus a
 * tolerance. The first quarter is warm-up (JIT, the first outage filling the buffers, V8 sizing
 * its heap). Quarters are whole multiples of --outage-every in the default run, so each holds the
 * same mix of up and down phases. Tolerances, and the smallest leak each would catch between the
 * two medians (5000 cycles apart in a 10000-cycle run):
 * - RSS: 10% or 5 MB, whichever is larger: ~1 KB per cycle.
 * - live heap (after a full GC): 10% or 2 MB: ~400 bytes per cycle.
 * - descriptors: 2% or 5: one descriptor lost per 1000 cycles; one per churn (every 20) is 250.
 * - handles: 5: one per outage (every 500 cycles) is 10.
 * - event-loop delay p99: 50% or 5 ms (it is the cycle's synchronous collect, so noisy with load).
 */
function judge(samples: SoakSample[]): Judged[] {
  const q = Math.floor(samples.length / 4);
  const q2 = samples.slice(q, 2 * q);
  const q4 = samples.slice(samples.length - q);
  const half = samples.slice(Math.floor(samples.length / 2));
  const rules: [string, (s: SoakSample) => number, number, number][] = [
    ['RSS (MB)', (s) => s.rssMB, 0.1, 5],
    ['live heap (MB)', (s) => s.liveHeapMB, 0.1, 2],
    ['open fds', (s) => s.fds, 0.02, 5],
    ['active handles', (s) => s.handles, 0, 5],
    ['event-loop delay p99 (ms)', (s) => s.eldP99, 0.5, 5],
  ];
  return rules.map(([metric, f, rel, abs]) => {
    const a = median(q2.map(f));
    const z = median(q4.map(f));
    const allowed = Math.max(a * rel, abs);
    return { metric, q2: a, q4: z, allowed, slopePer1k: slope(half.map((s) => [s.cycle, f(s)])) * 1000, ok: z <= a + allowed };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function slope(pts: [number, number][]): number {
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  const num = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

// ---- report ----

function figures(
  env: { command: string; date: string; kernel: string; node: string; cores: number; cpuModel: string; memGB: number; load: string; runtimeS: number },
  p: { cycles: number; namespaces: number; churnEvery: number; churnCount: number; outageEvery: number; outageLen: number; sampleEvery: number; scrapeMs: number },
  samples: SoakSample[],
  verdict: Judged[],
  b: Backends,
  run: { churns: number; churnsSkipped: number; spawned: number; outages: number; peakRssMB: number; left: number },
): string {
  const last = samples.at(-1);
  const f1 = (x: number): string => x.toFixed(1);
  const done = last?.cycle ?? 0;
  // Two rows per outage period: the sample nearest the middle of the outage and of the up time.
  const near = (x: number): number => Math.max(p.sampleEvery, Math.round(x / p.sampleEvery) * p.sampleEvery) % p.outageEvery;
  const picks = new Set([near(p.outageLen / 2), near((p.outageLen + p.outageEvery) / 2)]);
  let rows = samples.filter((s) => picks.has(s.cycle % p.outageEvery));
  if (rows.length < 4) rows = samples.filter((_, i) => (i + 1) % Math.max(1, Math.round(samples.length / 20)) === 0);
  while (rows.length > 60) rows = rows.filter((_, i) => i % 2 === 1);
  const sinkNames = last ? Object.keys(last.sinks) : [];
  const drops = (s: SoakSample): string =>
    sinkNames
      .map((k) => Object.entries(s.sinks[k].dropped).map(([r, v]) => `${k}.${r}=${v}`).join(' '))
      .filter(Boolean)
      .join(' ') || '0';
  const phase = (c: number): string => (c >= p.outageEvery && c % p.outageEvery < p.outageLen ? 'down' : 'up');
  const lines = [
    `## Figures (${env.date})`,
    '',
    `Command: \`${env.command}\` — ${done} cycles in ${f1(env.runtimeS / 60)} min (${samples.length ? f1((last!.elapsedS * 1000) / done) : '-'} ms per cycle on average, sinks included).`,
    `Machine: ${env.cpuModel}, ${env.cores} cores, ${env.memGB} GB, Linux ${env.kernel}, Node ${env.node}; load average before the run: ${env.load}.`,
    `Workload: ${p.namespaces} namespaces held (every 10th with sockmix's 290 sockets); every ${p.churnEvery} cycles ${p.churnCount} killed and replaced ` +
      `(${run.churns} churns, ${run.churnsSkipped} skipped because the previous one was still spawning, ${run.spawned} namespaces spawned in all); ` +
      `backends down for ${p.outageLen} of every ${p.outageEvery} cycles (${run.outages} outages); /metrics scraped every ${p.scrapeMs} ms.`,
    `Backends received: Open-Falcon ${b.falconItems} items in ${b.falconRequests} requests; StatsD ${b.statsdDatagrams} datagrams; ` +
      `OTLP ${b.otlpOk} × 200 and ${b.otlp503} × 503; Prometheus ${b.scrapesOk} scrapes ok, ${b.scrapesFailed} failed.`,
    `Agent: peak RSS (getrusage) ${f1(run.peakRssMB)} MB; namespace processes left after the run: ${run.left}.`,
    '',
    '| cycle | min | phase | RSS MB | heap MB | live heap MB | handles | fds | ELD p99 ms | ELD max ms | cycle p50 / p99 ms | targets | buffered (falcon / otlp) | dropped (cumulative) | error cycles |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (s) =>
        `| ${s.cycle} | ${f1(s.elapsedS / 60)} | ${phase(s.cycle)} | ${f1(s.rssMB)} | ${f1(s.heapMB)} | ${f1(s.liveHeapMB)} | ${s.handles} | ${s.fds} | ${f1(s.eldP99)} | ${f1(s.eldMax)} | ` +
        `${f1(s.cycleP50)} / ${f1(s.cycleP99)} | ${s.targets} | ${s.sinks.falcon?.buffered ?? '-'} / ${s.sinks.otlp?.buffered ?? '-'} | ${drops(s)} | ${s.errorCycles} |`,
    ),
    '',
    `${rows.length} of ${samples.length} samples (one per ${p.sampleEvery} cycles), around the middle of each outage and of each up time; "phase" is the backends' state at the sample. "live heap" is heapUsed right after a forced full GC; ELD is the event-loop delay (\`monitorEventLoopDelay\`, 5 ms resolution) over the ${p.sampleEvery} cycles before the sample. Handles by kind at the last sample: ${last ? Object.entries(last.handleKinds).map(([k, v]) => `${k} ${v}`).join(', ') : '-'}.`,
    '',
    'Verdict (median of the last quarter of samples vs the second quarter; slope by least squares over the second half):',
    '',
    '| metric | Q2 median | Q4 median | allowed growth | slope per 1000 cycles | |',
    '|---|---|---|---|---|---|',
    ...verdict.map((v) => `| ${v.metric} | ${v.q2.toFixed(2)} | ${v.q4.toFixed(2)} | +${v.allowed.toFixed(2)} | ${v.slopePer1k >= 0 ? '+' : ''}${v.slopePer1k.toFixed(3)} | ${v.ok ? 'flat' : '**GREW**'} |`),
  ];
  return lines.join('\n');
}

const START = '<!-- soak:figures:start (rewritten by `npm run soak -- --write`) -->';
const END = '<!-- soak:figures:end -->';

function writeFigures(file: string, section: string): void {
  const block = `${START}\n\n${section}\n\n${END}`;
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Soak\n';
  const a = text.indexOf(START);
  const z = text.indexOf(END);
  fs.writeFileSync(file, a >= 0 && z > a ? text.slice(0, a) + block + text.slice(z + END.length) : `${text.trimEnd()}\n\n${block}\n`);
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`soak: ${(err as Error).stack ?? err}\n`);
    agentProc?.kill('SIGKILL');
    process.exitCode = 1;
  },
);
