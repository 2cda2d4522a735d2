// A private VictoriaMetrics (Debian trixie's package, unpacked by test/setup/deps-otlp.sh) on
// 127.0.0.1 with a temporary storage directory: the real OTLP/protobuf receiver of the tests.
// It takes OTLP at POST /opentelemetry/v1/metrics (protobuf only: JSON gets 400), keeps metric
// and attribute names as sent (dots included), and turns resource attributes into labels.
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BUILD_DIR, ToolGate, requireTool } from './env';

export const VICTORIA_BIN = path.join(BUILD_DIR, 'victoria-metrics', 'usr', 'bin', 'victoria-metrics');

/**
 * Gate for tests that run VictoriaMetrics (env.ts requireTool): they run when the binary is there;
 * when it is not, the suite fails under CI=true or as root (prepare.sh runs deps-otlp.sh), and the
 * tests are skipped loudly elsewhere.
 */
export function victoria(): ToolGate {
  return requireTool('victoria-metrics', fs.existsSync(VICTORIA_BIN), `${VICTORIA_BIN}: run \`bash test/setup/deps-otlp.sh\` as root`);
}

export interface Series {
  metric: Record<string, string>;
  values: number[];
  /** Milliseconds since the epoch. */
  timestamps: number[];
}

/** A port nothing listens on right now (probed on 127.0.0.1, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export class Victoria {
  private constructor(
    private readonly child: ChildProcess,
    readonly base: string,
    private readonly dir: string,
    private readonly log: () => string,
  ) {}

  /** OTLP metrics URL (protobuf). */
  get otlpUrl(): string {
    return `${this.base}/opentelemetry/v1/metrics`;
  }

  static async start(timeoutMs = 15_000): Promise<Victoria> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-vm-'));
    // The free port is probed then released: another process could take it in between, so a
    // start that fails is tried again on a new port.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      let out = '';
      const child = spawn(VICTORIA_BIN, [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${path.join(dir, `data${attempt}`)}`,
        '-retentionPeriod=100y', // fixture timestamps are from 2023
        '-search.latencyOffset=0s', // fresh points are queryable at once
        '-search.disableCache',
        '-selfScrapeInterval=0',
        '-loggerLevel=ERROR',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const vm = new Victoria(child, `http://127.0.0.1:${port}`, dir, () => out);
      if (await vm.waitHealthy(timeoutMs)) return vm;
      await vm.stop(false);
      if (attempt >= 3) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new Error(`victoria-metrics did not become healthy:\n${out.slice(-2000)}`);
      }
    }
  }

  private async waitHealthy(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.child.exitCode === null) {
      try {
        if ((await fetch(`${this.base}/health`)).ok) return true;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  private async get(pathAndQuery: string): Promise<string> {
    const res = await fetch(`${this.base}${pathAndQuery}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`VictoriaMetrics ${pathAndQuery}: HTTP ${res.status}: ${text}\n${this.log().slice(-1000)}`);
    return text;
  }

  /** Makes what was ingested searchable. */
  flush(): Promise<string> {
    return this.get('/internal/force_flush');
  }

  /** Raw samples of every series matching the selector (after a flush), sorted by name and labels. */
  async exportSeries(selector = '{__name__!=""}'): Promise<Series[]> {
    await this.flush();
    const text = await this.get(`/api/v1/export?match[]=${encodeURIComponent(selector)}&start=0`);
    const series = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Series);
    const key = (s: Series): string => JSON.stringify(Object.entries(s.metric).sort());
    return series.sort((a, b) => key(a).localeCompare(key(b)));
  }

  /** An instant query at `time` (unix seconds): [labels, value] per series. */
  async query(expr: string, time: number): Promise<{ metric: Record<string, string>; value: number }[]> {
    await this.flush();
    const body = JSON.parse(await this.get(`/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`)) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Kills the process (its storage is thrown away) and removes the temp dir. */
  async stop(removeDir = true): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
    if (removeDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
