// The command a user runs: the built CLI (bin/sockpulse.js → dist/), as a child process.
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { REPO_ROOT, describeDocker, describeRoot, dockerEnv } from '../helpers/env';
import { removeContainer, runSockmix, RunningContainer } from '../helpers/dockerd';
import { expectedStats, SOCKMIX_BIN, mixArgs } from '../helpers/sockmix';

const BIN = path.join(REPO_ROOT, 'bin', 'sockpulse.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 30000 });

interface Doc {
  timestamp: number;
  host: string;
  kernel: string;
  cycle: Record<string, number | string>;
  host_wide: Record<string, number | null>;
  targets: { netns: number; pid: number; scope: string; containers: { id: string; name: string | null; image: string | null }[]; labels: Record<string, string>; stats: Record<string, number | null> }[];
  errors: unknown[];
}

/** A port nothing listens on right now (probed on 127.0.0.1, then released). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
const get = (port: number, p: string) =>
  new Promise<number>((resolve) => http.get({ host: '127.0.0.1', port, path: p }, (res) => resolve(res.statusCode ?? 0)).on('error', () => resolve(0)));

/** The built CLI as a daemon: its JSON documents as they arrive, its stderr, and waiting helpers. */
function daemon(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, ...env } });
  const docs: Doc[] = [];
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      docs.push(JSON.parse(out.slice(0, i)));
      out = out.slice(i + 1);
    }
  });
  child.stderr!.on('data', (d) => (err += d));
  const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms = 10000) => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const exit = () => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', resolve)));
  return { child, docs, stderr: () => err, waitFor, exit };
}

describe('sockpulse CLI: usage and configuration', () => {
  it('prints usage with --help and exits 0', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--once/);
  });

  it('prints the package version', () => {
    const r = run(['--version']);
    expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version);
  });

  it('exits 2 on an unknown flag, naming it', () => {
    const r = run(['--onec']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--onec/);
  });

  it('exits 2 on a bad flag value, naming the key and the allowed values', () => {
    const r = run(['--once', '--discovery', 'k8s']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/invalid configuration: discovery\.mode.*auto.*docker.*procfs.*netns/);
    expect(r.stdout).toBe('');
  });

  it('exits 2 on an unknown key in the config file, naming the key', () => {
    const f = path.join(os.tmpdir(), `sp-${randomBytes(4).toString('hex')}.yaml`);
    fs.writeFileSync(f, 'discovery:\n  mod: procfs\n');
    try {
      const r = run(['--once', '-c', f]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/discovery\.mod/);
    } finally {
      fs.rmSync(f);
    }
  });

  it('exits 2 on a bad environment value', () => {
    const r = run(['--once'], { SOCKPULSE_INTERVAL: '45' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/interval/);
  });

  /** A refusal at start: exit 2, one line naming `key`, nothing on stdout, no stack trace. */
  const expectRefused = (r: ReturnType<typeof run>, key: string) => {
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^sockpulse: invalid configuration: ${key.replace(/\./g, '\\.')}: [^\n]+\n$`));
    expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
  };

  it('exits 2 on a bad Falcon URL, in one line naming sinks.falcon.url, the URL masked', () => {
    const r = run(['--once', '--discovery', 'procfs'], { SOCKPULSE_FALCON_ENABLED: 'true', SOCKPULSE_FALCON_URL: 'ftp://falcon:pw9secret@h/v1/push' });
    expectRefused(r, 'sinks.falcon.url');
    expect(r.stderr).toContain('sinks.falcon.url: "ftp://***:***@h/v1/push" must be http:// or https://');
    expect(r.stderr).not.toContain('pw9secret');
  });

  it.each(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'])('exits 2 on a bad OTLP endpoint in %s, in one line naming it', (name) => {
    const r = run(['--once', '--discovery', 'procfs'], { SOCKPULSE_OTLP_ENABLED: 'true', [name]: 'collector:4318' });
    // The metrics variable is the sinks.otlp.endpoint key's (convict maps it).
    expectRefused(r, name === 'OTEL_EXPORTER_OTLP_ENDPOINT' ? name : 'sinks.otlp.endpoint');
    expect(r.stderr).toMatch(/must be http:\/\/ or https:\/\//);
  });

  it('does not check a disabled sink: a placeholder Falcon URL does not keep it from starting', () => {
    const r = run(['--print-config'], { SOCKPULSE_FALCON_URL: 'CHANGE-ME', OTEL_EXPORTER_OTLP_ENDPOINT: 'CHANGE-ME' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).sinks.falcon).toMatchObject({ enabled: false, url: 'CHANGE-ME' });
  });

  it.each([
    ['garbage after credentials', 'tcp://dockuser:pw9secret@'],
    ['an unsupported scheme', 'ssh://dockuser:pw9secret@engine'],
  ])('exits 2 on a malformed DOCKER_HOST (%s), in one line naming docker.host, masked', (_what, host) => {
    for (const mode of ['auto', 'docker']) {
      const r = run(['--once', '--discovery', mode], { DOCKER_HOST: host });
      expectRefused(r, 'docker.host');
      expect(r.stderr).not.toMatch(/dockuser|pw9secret/);
    }
  });

  it('--print-config shows the effective configuration, flags over environment', () => {
    const r = run(['--print-config', '--interval', '30', '--format', 'json'], { SOCKPULSE_INTERVAL: '15', SOCKPULSE_DISCOVERY: 'procfs' });
    expect(r.status).toBe(0);
    const cfg = JSON.parse(r.stdout);
    expect(cfg).toMatchObject({ interval: '30', discovery: { mode: 'procfs' }, output: { format: 'json' } });
  });
});

describe('sockpulse CLI: secrets', () => {
  // Every secret a user can give: URL credentials and query tokens (Falcon, OTLP by key or by the
  // generic variable, docker.host), OTLP header values by either variable. Backends down, so the
  // retry, warn and shutdown paths run; the fixture tree, so no root is needed. The Docker client
  // cannot send credentials, so that docker.host is refused at load where Docker is used.
  const S = ['fUser7x', 'fPass7x', 'fTok7x', 'oUser7x', 'oPass7x', 'oTok7x', 'hdrMetrics7x', 'hdrGeneric7x', 'dUser7x', 'dPass7x'];
  const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'proctree');
  let dir: string;
  let fp: number;
  let op: number;
  const otlpUrl = (port: number, p: string) => `http://${S[3]}:${S[4]}@127.0.0.1:${port}${p}?api_key=${S[5]}`;
  /** A config file with both push sinks; the OTLP endpoint by key unless `byKey` is false. */
  const conf = (byKey: boolean) => {
    const f = path.join(dir, `c${byKey}.yaml`);
    const retry = 'attempts: 2, backoff_initial: 0.01, timeout: 1';
    const endpoint = byKey ? `endpoint: "${otlpUrl(op, '/v1/metrics')}", ` : '';
    fs.writeFileSync(f, `sinks:\n  falcon: { enabled: true, url: "http://${S[0]}:${S[1]}@127.0.0.1:${fp}/api/push?token=${S[2]}", ${retry} }\n  otlp: { enabled: true, ${endpoint}${retry} }\n`);
    return f;
  };
  const env = (over: NodeJS.ProcessEnv = {}) => ({
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: `x-api-key=${S[6]}`,
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${S[7]},x-tenant=acme`,
    DOCKER_HOST: `tcp://${S[8]}:${S[9]}@127.0.0.1:${fp}`,
    SOCKPULSE_LOG_LEVEL: 'debug',
    ...over,
  });
  /** Runs the CLI; no secret anywhere in its output, and each of `shown` somewhere in it. */
  const runClean = (args: string[], e: NodeJS.ProcessEnv, shown: string[]) => {
    const r = run(args, e);
    const all = `${r.stdout}\n${r.stderr}`;
    for (const s of S) expect(all).not.toContain(s);
    for (const s of shown) expect(all).toContain(s);
    return r;
  };
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-secrets-'));
    [fp, op] = [await freePort(), await freePort()];
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--print-config masks them and keeps scheme, host, port and path', () => {
    const r = runClean(['--print-config', '-c', conf(true), '--discovery', 'procfs'], env(), []);
    expect(r.status).toBe(0);
    const cfg = JSON.parse(r.stdout);
    expect(cfg.sinks.falcon.url).toBe(`http://***:***@127.0.0.1:${fp}/api/push?token=***`);
    expect(cfg.sinks.otlp.endpoint).toBe(`http://***:***@127.0.0.1:${op}/v1/metrics?api_key=***`);
    expect(cfg.sinks.otlp.headers).toBe('[Sensitive]');
    expect(cfg.docker.host).toBe(`tcp://***:***@127.0.0.1:${fp}`);
  });

  it('--once refuses that docker.host at start, masked: exit 2, one line naming it', () => {
    const r = runClean(['--once', '-c', conf(true), '--proc-root', FIXTURE], env(), [`docker.host: "tcp://***:***@127.0.0.1:${fp}"`]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--once (json) logs and prints the cycle without them: sink ready lines, delivery warnings; no engine at a well-formed docker.host: /proc', () => {
    const r = runClean(['--once', '--format', 'json', '-c', conf(true), '--proc-root', FIXTURE], env({ DOCKER_HOST: `tcp://127.0.0.1:${fp}` }), [
      `127.0.0.1:${fp}/api/push?token=***`,
      `127.0.0.1:${op}/v1/metrics?api_key=***`,
      `ECONNREFUSED 127.0.0.1:${fp}`,
      `ECONNREFUSED 127.0.0.1:${op}`,
    ]);
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.cycle.discovery).toBe('procfs');
    expect(r.stderr).toMatch(/no container runtime answering; scanning every network namespace under the proc root/);
  });

  it('--once (table, debug) with the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT (its query kept after /v1/metrics)', () => {
    const base = otlpUrl(op, '/base');
    const r = runClean(['--once', '-c', conf(false), '--discovery', 'procfs', '--proc-root', FIXTURE], env({ OTEL_EXPORTER_OTLP_ENDPOINT: base }), [
      `127.0.0.1:${op}/base/v1/metrics?api_key=***`,
      `ECONNREFUSED 127.0.0.1:${op}`,
      'NETNS',
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/"level":20/); // debug lines were written too
  });
});

describeRoot('sockpulse CLI on the real kernel', () => {
  it('falls back to /proc when no Docker engine answers, and says so on stderr', () => {
    const r = run(['--once', '--format', 'json'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.cycle.discovery).toBe('procfs');
    expect(r.stderr).toMatch(/no container runtime answering; scanning every network namespace under the proc root/);
  });

  it('--discovery netns reads named namespaces, and counts one without a process as skipped', async () => {
    const names = [`spa${randomBytes(3).toString('hex')}`, `spb${randomBytes(3).toString('hex')}`];
    const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });
    let child: ChildProcess | undefined;
    try {
      names.forEach((n) => ip('netns', 'add', n));
      const mix = { listen4: 3, udp4: 1 };
      child = spawn('ip', ['netns', 'exec', names[0], SOCKMIX_BIN, ...mixArgs(mix)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child!.stdout!.on('data', (d) => /ready \d+/.test(String(d)) && resolve());
        child!.on('exit', (code) => reject(new Error(`sockmix exited with ${code}`)));
      });
      const r = run(['--once', '--format', 'json', '--discovery', 'netns']);
      const doc = JSON.parse(r.stdout) as Doc;
      const t = doc.targets.find((x) => x.labels.netns_name === names[0]);
      expect(t).toBeDefined();
      expect(t!.scope).toBe('netns');
      expect(t!.stats).toMatchObject({ inuse: 3, udp: 1, total: expectedStats(mix).total });
      expect(doc.targets.some((x) => x.labels.netns_name === names[1])).toBe(false);
      expect(doc.cycle.skipped).toBeGreaterThanOrEqual(1);
    } finally {
      child?.kill('SIGKILL');
      names.forEach((n) => spawnSync('ip', ['netns', 'delete', n]));
    }
  });

  it('runs as a daemon on an aligned schedule and stops cleanly on SIGTERM', async () => {
    const { child, docs, waitFor, exit } = daemon(['--interval', '1', '--format', 'json', '--discovery', 'procfs'], process.env);
    await waitFor('three documents', () => docs.length >= 3);
    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await exit();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(code).toBe(0);
    expect(docs.length).toBeGreaterThanOrEqual(3);
    const ts = docs.map((d) => d.timestamp);
    expect(ts.slice(1).map((t, i) => t - ts[i])).toEqual(Array(ts.length - 1).fill(1));
  });
});

describeRoot('sockpulse daemon: health and reload', () => {
  it('serves /healthz at once and /readyz once a cycle has read a namespace', async () => {
    const port = await freePort();
    const d = daemon(['--interval', '1', '--format', 'json', '--discovery', 'procfs'], { SOCKPULSE_HEALTH_LISTEN: `127.0.0.1:${port}` });
    try {
      await d.waitFor('/healthz', async () => (await get(port, '/healthz')) === 200);
      await d.waitFor('/readyz', async () => (await get(port, '/readyz')) === 200);
      expect(d.docs.length).toBeGreaterThanOrEqual(1);
    } finally {
      d.child.kill('SIGTERM');
      expect(await d.exit()).toBe(0);
    }
    expect(await get(port, '/healthz')).toBe(0); // closed at shutdown
  });

  it('reloads the configuration on SIGHUP, keeps the running one when the new one is invalid, and stays ready', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-hup-'));
    const cfg = path.join(dir, 'sockpulse.yaml');
    const port = await freePort();
    const conf = (host: string) => `interval: 1\nhostname: ${host}\ndiscovery: { mode: procfs }\noutput: { format: json }\nhealth: { listen: "127.0.0.1:${port}" }\n`;
    fs.writeFileSync(cfg, conf('first'));
    const d = daemon(['-c', cfg]);
    try {
      await d.waitFor('a first document', () => d.docs.length > 0);
      fs.writeFileSync(cfg, 'interval: 1\nhostnme: typo\n');
      d.child.kill('SIGHUP');
      await d.waitFor('the refusal', () => /reload refused, keeping the running configuration: .*hostnme/.test(d.stderr()));
      const n = d.docs.length;
      await d.waitFor('documents still flowing under the old configuration', () => d.docs.length >= n + 2);
      expect(d.docs.slice(n).every((x) => x.host === 'first')).toBe(true);
      await d.waitFor('ready', async () => (await get(port, '/readyz')) === 200);
      fs.writeFileSync(cfg, conf('second'));
      d.child.kill('SIGHUP');
      await d.waitFor('the reload', () => /configuration reloaded/.test(d.stderr()));
      expect(await get(port, '/readyz')).toBe(200); // readiness carries over the reload
      await d.waitFor('documents under the new configuration', () => d.docs.some((x) => x.host === 'second'));
    } finally {
      d.child.kill('SIGTERM');
      expect(await d.exit()).toBe(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a SIGHUP reload to an invalid Falcon url, keeps running the old configuration, and exits 0 on SIGTERM', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-hup-'));
    const cfg = path.join(dir, 'sockpulse.yaml');
    const conf = (host: string, extra = '') => `interval: 1\nhostname: ${host}\ndiscovery: { mode: procfs }\noutput: { format: json }\n${extra}`;
    fs.writeFileSync(cfg, conf('first'));
    const d = daemon(['-c', cfg]);
    try {
      await d.waitFor('a first document', () => d.docs.length > 0);
      fs.writeFileSync(cfg, conf('second', 'sinks:\n  falcon: { enabled: true, url: "ftp://falcon:pw9secret@h/v1/push" }\n'));
      d.child.kill('SIGHUP');
      await d.waitFor('the refusal', () => /reload refused, keeping the running configuration: sinks\.falcon\.url: \\"ftp:\/\/\*\*\*:\*\*\*@h\/v1\/push\\" must be http/.test(d.stderr()));
      const n = d.docs.length;
      await d.waitFor('documents still flowing under the old configuration', () => d.docs.length >= n + 2);
      expect(d.docs.every((x) => x.host === 'first')).toBe(true);
    } finally {
      d.child.kill('SIGTERM');
      expect(await d.exit()).toBe(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(d.stderr()).not.toMatch(/pw9secret|\n\s+at /);
  });
});

describeDocker('sockpulse --once on a Docker host', () => {
  let c: RunningContainer;
  const mix = { listen4: 2, estab4: 3, timewait4: 2, udp4: 1, listen6: 1, udp6: 2 };
  beforeAll(async () => {
    c = await runSockmix(mix);
  });
  afterAll(async () => {
    await removeContainer(c.id);
  });

  it('prints the JSON contract with the container\'s exact numbers', () => {
    const r = run(['--once', '--format', 'json'], { DOCKER_HOST: `unix://${dockerEnv()!.socketPath}` });
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(Object.keys(doc)).toEqual(['timestamp', 'host', 'kernel', 'cycle', 'host_wide', 'targets', 'self', 'errors']);
    expect(doc.timestamp % 60).toBe(0);
    expect(Math.abs(doc.timestamp - Date.now() / 1000)).toBeLessThan(120);
    expect(doc).toMatchObject({ host: os.hostname(), kernel: os.release(), errors: [] });
    expect(doc.cycle).toMatchObject({ discovery: 'docker', errors: 0 });
    expect(Object.keys(doc.cycle).sort()).toEqual(['collect_ms', 'collectors', 'discover_ms', 'discovery', 'errors', 'skipped', 'targets']);
    expect(Object.keys(doc.host_wide)).toEqual(['orphan', 'tcp_alloc', 'tcp_mem_pages', 'udp_mem_pages', 'timewait', 'total', 'conntrack_max']);
    // timewait and total are host-wide only before Linux 4.11 / 4.16; this kernel keeps them per namespace
    const { timewait, total, ...kernelWide } = doc.host_wide;
    expect({ timewait, total }).toEqual({ timewait: null, total: null });
    for (const v of Object.values(kernelWide)) expect(typeof v).toBe('number');

    const hosts = doc.targets.filter((t) => t.scope === 'host');
    expect(hosts).toHaveLength(1);
    expect(typeof hosts[0].stats.orphan).toBe('number'); // the host namespace's own; host_wide.orphan is the whole host's

    const t = doc.targets.find((x) => x.containers.some((k) => k.id === c.id))!;
    expect(t).toMatchObject({ pid: c.pid, scope: 'container', containers: [{ id: c.id, name: c.name, image: 'sockpulse-test:latest' }] });
    expect(t.netns).toBe(Number(/\d+/.exec(fs.readlinkSync(`/proc/${c.pid}/ns/net`))![0]));
    const e = expectedStats(mix, 'docker');
    // Docker discovery: a handful of targets, all read within the orphans budget even while another
    // suite holds orphans: the container's count (the mix has none) is exact.
    expect(t.stats).toEqual({ established: e.established, inuse: e.inuse, timewait: e.timewait, orphan: 0, total: e.total, udp: e.udp });
  });

  it('prints one table line per namespace', () => {
    const r = run(['--once'], { DOCKER_HOST: `unix://${dockerEnv()!.socketPath}` });
    expect(r.status).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.endsWith(` ${c.name}`))!;
    const e = expectedStats(mix, 'docker');
    expect(line.split(/\s+/).slice(2, 9)).toEqual(['container', e.established, e.inuse, e.timewait, 0, e.total, e.udp].map(String));
  });
});
