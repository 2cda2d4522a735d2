// End to end: a real container on the private engine → the agent daemon (built CLI) with all four
// sinks enabled → the real StatsD daemon, real VictoriaMetrics (OTLP protobuf), the Open-Falcon
// contract receiver (transfer) and a Prometheus scrape. Each backend must hold the container's
// kernel numbers under its name; breaking Open-Falcon must change nothing for the others, and
// what Falcon missed is delivered when it comes back.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { FalconReceiver } from '../helpers/falcon-receiver';
import { REPO_ROOT, describeDocker, dockerEnv } from '../helpers/env';
import { RunningContainer, removeContainer, runSockmix } from '../helpers/dockerd';
import { Mix, expectedStats } from '../helpers/sockmix';
import { StatsdDaemon, startStatsd } from '../helpers/statsd-server';
import { Victoria, freePort } from '../helpers/victoria';
import { parseExposition, promtoolProblems } from '../helpers/promtool';

const BIN = path.join(REPO_ROOT, 'bin', 'sockpulse.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}

describeDocker('end to end: one container, four real backends', () => {
  const mix: Mix = { listen4: 3, estab4: 4, estab6: 1, timewait4: 2, udp4: 2, udp6: 1 };
  const want = expectedStats(mix, 'docker');
  let c: RunningContainer;
  let falcon: FalconReceiver;
  let statsd: StatsdDaemon;
  let vm: Victoria;
  let promPort: number;
  let agent: ChildProcess;
  let stderr = '';
  let dir: string;

  beforeAll(async () => {
    [c, falcon, statsd, vm, promPort] = await Promise.all([runSockmix(mix), FalconReceiver.start(), startStatsd(), Victoria.start(), freePort()]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-e2e-'));
    const cfg = path.join(dir, 'sockpulse.yaml');
    fs.writeFileSync(
      cfg,
      [
        'interval: 1',
        'discovery: { mode: docker }',
        `docker: { host: "unix://${dockerEnv()!.socketPath}" }`,
        'output: { enabled: false }',
        'sinks:',
        `  falcon: { enabled: true, url: "${falcon.transferUrl}", timeout: 0.5, backoff_initial: 0.2, backoff_max: 0.5 }`,
        `  statsd: { enabled: true, host: 127.0.0.1, port: ${statsd.udpPort} }`,
        `  otlp: { enabled: true, endpoint: "${vm.otlpUrl}", protocol: http/protobuf }`,
        `  prometheus: { enabled: true, listen: "127.0.0.1:${promPort}" }`,
      ].join('\n'),
    );
    agent = spawn(process.execPath, [BIN, '-c', cfg, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } });
    agent.stderr!.on('data', (d) => (stderr += d));
  }, 60000);

  afterAll(async () => {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    await Promise.all([c && removeContainer(c.id), falcon?.close(), statsd?.stop(), vm?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const mine = (tags: Record<string, string>) => tags.container === c.name;

  it('every backend holds the container\'s numbers under its name', async () => {
    // Open-Falcon (transfer): one item per stat, tagged with the container.
    const falconStats = await until('falcon items', async () => {
      const m = new Map(falcon.items.filter((i) => mine(i.tags)).map((i) => [i.metric, i.value]));
      return m.has('sockpulse.estab') ? m : undefined;
    });
    expect(Object.fromEntries(['estab', 'inuse', 'timewait', 'total', 'udp.inuse'].map((k) => [k, falconStats.get(`sockpulse.${k}`)]))).toEqual({
      estab: want.established, inuse: want.inuse, timewait: want.timewait, total: want.total, 'udp.inuse': want.udp,
    });

    // Prometheus: a valid page with the container's series.
    const page = await until('a scrape with the container', async () => {
      const text = await get(`http://127.0.0.1:${promPort}/metrics`);
      return text.includes(`container="${c.name}"`) ? text : undefined;
    });
    expect(promtoolProblems(page)).toEqual([]);
    const fams = parseExposition(page);
    const prom = (name: string) => Number(fams.get(name)!.samples.find((s) => s.labels.container === c.name)!.value);
    expect([prom('sockpulse_tcp_established'), prom('sockpulse_tcp_inuse'), prom('sockpulse_tcp_timewait'), prom('sockpulse_sockets_used'), prom('sockpulse_udp_inuse')]).toEqual([
      want.established, want.inuse, want.timewait, want.total, want.udp,
    ]);

    // StatsD: DogStatsD tags are stored as name;k=v.
    const gauges = await until('statsd gauges', async () => {
      const g = await statsd.gauges();
      return Object.keys(g).some((k) => k.startsWith('sockpulse.estab;') && k.includes(`container=${c.name}`)) ? g : undefined;
    });
    const sd = (name: string) => Object.entries(gauges).find(([k]) => k.startsWith(`${name};`) && k.includes(`container=${c.name}`))![1];
    expect([sd('sockpulse.estab'), sd('sockpulse.inuse'), sd('sockpulse.timewait'), sd('sockpulse.total'), sd('sockpulse.udp.inuse')]).toEqual([
      want.established, want.inuse, want.timewait, want.total, want.udp,
    ]);

    // OTLP into VictoriaMetrics.
    const last = async (name: string) => {
      const s = await vm.exportSeries(`{__name__="${name}",container.name="${c.name}"}`);
      return s.length === 1 ? s[0].values[s[0].values.length - 1] : undefined;
    };
    await until('VictoriaMetrics series', () => last('sockpulse.tcp.established'));
    expect(await Promise.all(['sockpulse.tcp.established', 'sockpulse.tcp.inuse', 'sockpulse.tcp.timewait', 'sockpulse.sockets.used', 'sockpulse.udp.inuse'].map(last))).toEqual([
      want.established, want.inuse, want.timewait, want.total, want.udp,
    ]);
  }, 60000);

  it('an Open-Falcon outage changes nothing for the others, and what it missed arrives on recovery', async () => {
    const cyclesServed = async () => Number(parseExposition(await get(`http://127.0.0.1:${promPort}/metrics`)).get('sockpulse_agent_cycles_total')!.samples[0].value);
    await falcon.setMode({ kind: 'refuse' });
    const downAt = Math.floor(Date.now() / 1000);
    const before = await cyclesServed();
    await sleep(3500);
    expect(await cyclesServed()).toBeGreaterThanOrEqual(before + 2); // the agent kept cycling
    const vmTimes = (await vm.exportSeries(`{__name__="sockpulse.tcp.established",container.name="${c.name}"}`))[0].timestamps;
    expect(vmTimes.filter((t) => t / 1000 > downAt).length).toBeGreaterThanOrEqual(2); // OTLP kept receiving
    await falcon.setMode({ kind: 'ok' });
    const missed = await until('the buffered cycles', async () => {
      const ts = new Set(falcon.items.filter((i) => mine(i.tags) && i.metric === 'sockpulse.estab' && i.timestamp > downAt).map((i) => i.timestamp));
      return ts.size >= 3 ? ts : undefined;
    });
    expect(missed.size).toBeGreaterThanOrEqual(3);
  }, 60000);

  it('stops cleanly on SIGTERM', async () => {
    agent.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => agent.on('exit', resolve));
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/"level":(50|60)/); // no error or fatal log lines
  });
});
