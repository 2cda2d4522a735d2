// A private clickhouse-server 18.16 (Debian bookworm's packages, unpacked by
// test/setup/deps-clickhouse.sh) on 127.0.0.1 with its own config, data directory and users:
// `default` (no password) for the test's own queries, and USER/PASSWORD for the sink. It can be
// stopped and started again on the same port with the same data (a server that goes away).
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILD_DIR, ToolGate, requireTool } from './env';
import { freePort } from './victoria';

const ROOT = path.join(BUILD_DIR, 'clickhouse');
export const CLICKHOUSE_BIN = path.join(ROOT, 'usr', 'sbin', 'clickhouse-server');
const LIBS = [path.join(ROOT, 'usr', 'lib', 'x86_64-linux-gnu'), path.join(ROOT, 'lib', 'x86_64-linux-gnu')].join(':');

export const USER = 'sockpulse';
export const PASSWORD = 'ch-s3cret-Pass';

/** Gate (env.ts requireTool): the suite fails under CI=true or as root when the server is missing. */
export function clickhouseServer(): ToolGate {
  return requireTool('clickhouse-server 18.16', fs.existsSync(CLICKHOUSE_BIN), `${CLICKHOUSE_BIN}: run \`bash test/setup/deps-clickhouse.sh\` as root`);
}

const users = (): string => `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <${USER}><password>${PASSWORD}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></${USER}>
  </users>
  <quotas><default></default></quotas>
</yandex>
`;

const config = (dir: string, http: number, tcp: number): string => `<?xml version="1.0"?>
<yandex>
  <logger><level>error</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${http}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <mark_cache_size>5368709</mark_cache_size>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
</yandex>
`;

export class ClickHouseServer {
  private child: ChildProcess | undefined;
  private out = '';

  private constructor(private readonly dir: string, readonly port: number, private readonly tcpPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<ClickHouseServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-ch-'));
    fs.writeFileSync(path.join(dir, 'users.xml'), users());
    for (let attempt = 1; ; attempt++) {
      const s = new ClickHouseServer(dir, await freePort(), await freePort());
      fs.writeFileSync(path.join(dir, 'config.xml'), config(dir, s.port, s.tcpPort));
      if (await s.run()) return s;
      await s.stop(false);
      if (attempt >= 3) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new Error(`clickhouse-server did not answer /ping:\n${s.out.slice(-2000)}`);
      }
    }
  }

  /** Starts the process (again) on the same ports and data; resolves when /ping answers. */
  async run(timeoutMs = 20_000): Promise<boolean> {
    this.child = spawn(CLICKHOUSE_BIN, [`--config-file=${path.join(this.dir, 'config.xml')}`], {
      cwd: this.dir, env: { ...process.env, LD_LIBRARY_PATH: LIBS }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = this.child;
    child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        if ((await fetch(`${this.url}/ping`)).ok) return true;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** A query as `default`; the reply's text (TabSeparated unless the query says FORMAT). */
  async query(sql: string): Promise<string> {
    const res = await fetch(`${this.url}/?database=default`, { method: 'POST', body: sql });
    const text = await res.text();
    if (!res.ok) throw new Error(`clickhouse ${sql.slice(0, 80)}: HTTP ${res.status}: ${text}`);
    return text;
  }

  /** Rows of a SELECT as objects (FORMAT JSONEachRow is appended). */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    return (await this.query(`${sql} FORMAT JSONEachRow`)).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /**
   * Stops the process: SIGTERM (then SIGKILL after 5 s), or `SIGKILL` at once (a server that
   * dies; what it acknowledged is on disk); removeDir: its data too.
   */
  async stop(removeDir = true, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    if (removeDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
