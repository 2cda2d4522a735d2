// The Docker engine failing under a running agent daemon: stopped, restarted, slow.
//
// Runs on an engine of its own (test/helpers/private-engine.ts): stopping the shared engine of
// global-setup would break the suites running next to this one. That engine runs with
// --live-restore, so the sockmix container keeps running (same pid, same namespace) while the
// engine is down: `auto` must then find it through /proc (its cgroup names the id), and after the
// restart both modes must show it again through the engine, as the same target. Without
// --live-restore, SIGTERM would stop the container and the "recovers" phase could only show a
// host without containers — weaker, and not what a production host with live-restore sees.
//
// The agent is the built CLI (bin/sockpulse.js) with --interval 1 --format json: one document per
// second on stdout, pino JSON logs on stderr. Its cycle deadline is then 0.8 s (cli.ts:
// min(30, 0.8 × interval)); SOCKPULSE_DOCKER_TIMEOUT=0.5 keeps one engine call within it.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeRoot } from '../helpers/env';
import { AgentRun, Doc, SKIPPED_TICKS, timestampGaps } from '../helpers/agent-run';
import { PrivateEngine } from '../helpers/private-engine';
import { exclusiveNamespaces } from '../helpers/exclusive';

const SWITCH_TO_PROCFS = 'no container runtime answering; scanning every network namespace under the proc root';
const SWITCH_TO_DOCKER = 'discovering containers through docker';

/** The agent daemon, one document a second, on the engine at `dockerHost`. */
const agentRun = (label: string, mode: string, dockerHost: string) =>
  new AgentRun(label, ['--interval', '1', '--discovery', mode], { DOCKER_HOST: dockerHost, SOCKPULSE_DOCKER_TIMEOUT: '0.5' });

const withContainer = (id: string) => (d: Doc) => d.targets.some((t) => t.containers.some((c) => c.id === id));
const viaDocker = (id: string) => (d: Doc) => d.cycle.discovery === 'docker' && d.errors.length === 0 && withContainer(id)(d);
const engineDown = (d: Doc) => d.errors.some((e) => e.code === 'EDOCKERDOWN');

/** One document per second, none missing, none twice. */
function expectEverySecond(a: AgentRun): void {
  expect({ agent: a.label, gaps: timestampGaps(a) }).toEqual({ agent: a.label, gaps: [] });
}

/** A pass-through proxy in front of the engine that can hold `GET /containers/json` back. */
async function startSlowProxy(engineSocket: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spx-'));
  const socketPath = path.join(dir, 'docker.sock');
  const state = { delayMs: 0, lists: 0, delayed: 0 };
  const server = http.createServer((req, res) => {
    const isList = /^(\/v[\d.]+)?\/containers\/json(\?|$)/.test(req.url ?? '');
    const forward = () => {
      if (res.destroyed) return; // the client gave up while it was held back
      const up = http.request({ socketPath: engineSocket, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err));
      });
      req.pipe(up);
    };
    if (isList) state.lists++;
    if (isList && state.delayMs > 0) {
      state.delayed++;
      setTimeout(forward, state.delayMs);
    } else forward();
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    state,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeRoot('Docker engine faults under a running agent (private engine)', () => {
  let engine: PrivateEngine | undefined;
  let c: { id: string; name: string; pid: number };
  const mix = { listen4: 2, estab4: 1, udp4: 1 };
  const agents: AgentRun[] = [];
  const netnsOf = (pid: number) => Number(/\d+/.exec(fs.readlinkSync(`/proc/${pid}/ns/net`))![0]);

  let release: (() => void) | undefined;

  beforeAll(async () => {
    // `auto` falls back to scanning every namespace on the host within a 0.8 s deadline: not
    // while churn holds 2000 of them.
    release = await exclusiveNamespaces();
    engine = await PrivateEngine.create();
    c = await engine.runSockmix(mix, `spf-${randomBytes(4).toString('hex')}`);
  }, 350_000);

  afterAll(async () => {
    try {
      await Promise.all(agents.map((a) => a.stop()));
      if (!engine) return;
      const dir = engine.tmpDir;
      await engine.destroy();
      expect(PrivateEngine.mountsUnder(dir)).toEqual([]);
      expect(fs.existsSync(dir)).toBe(false);
    } finally {
      release?.();
    }
  }, 30_000);

  it('engine stopped then restarted: auto falls back to procfs and back, docker goes host-only and back; no restart, one log line per switch', async () => {
    const eng = engine!;
    const host = `unix://${eng.socketPath}`;
    const auto = agentRun('auto', 'auto', host);
    const dock = agentRun('docker', 'docker', host);
    agents.push(auto, dock);
    const ns = netnsOf(c.pid);

    // 1. Engine up: the container, through the engine.
    await Promise.all([auto.waitFor('docker with container', viaDocker(c.id), 0), dock.waitFor('docker with container', viaDocker(c.id), 0)]);

    // 2. Engine stopped (SIGTERM; --live-restore keeps the container running).
    const [aStop, dStop] = [auto.docs.length, dock.docs.length];
    const aLogsAtStop = auto.logs.length;
    await eng.stop();
    expect(fs.existsSync(`/proc/${c.pid}`)).toBe(true);
    const aFirstDown = await auto.waitFor('procfs', (d) => d.cycle.discovery === 'procfs', aStop);
    const dFirstDown = await dock.waitFor('EDOCKERDOWN', engineDown, dStop);
    await Promise.all([
      auto.waitFor('procfs', (d) => d.cycle.discovery === 'procfs', aStop, 3),
      dock.waitFor('EDOCKERDOWN', engineDown, dStop, 3),
    ]);

    // 3. Engine started again on the same socket: back to the engine, same agents.
    const [aUp, dUp] = [auto.docs.length, dock.docs.length];
    const aLogsAtStart = auto.logs.length;
    await eng.start();
    const aBack = await auto.waitFor('docker again', viaDocker(c.id), aUp);
    const dBack = await dock.waitFor('docker again', viaDocker(c.id), dUp);
    await Promise.all([auto.waitFor('docker again', viaDocker(c.id), aBack + 1), dock.waitFor('docker again', viaDocker(c.id), dBack + 1)]);

    expect(await auto.stop()).toBe(0);
    expect(await dock.stop()).toBe(0);

    // auto: every document while down is procfs and still has the container (found through its
    // cgroup), as the same namespace; no error in the documents (the reason is in the log).
    const aDown = auto.docs.slice(aFirstDown, aBack).filter((d) => d.cycle.discovery === 'procfs');
    expect(aDown.length).toBeGreaterThanOrEqual(3);
    for (const d of aDown) {
      expect(d.errors).toEqual([]);
      const t = d.targets.find((x) => x.containers.some((k) => k.id === c.id));
      expect(t?.netns).toBe(ns);
    }
    // Once procfs, it stays procfs until the engine is back: no flapping.
    // (From the first engine answer: a first cycle cut by its deadline on a loaded machine says "auto".)
    const fromDocker = auto.docs.findIndex((d) => d.cycle.discovery === 'docker');
    const aSources = auto.docs.slice(fromDocker).map((d) => d.cycle.discovery).join(',').replace(/(\w+)(,\1)+/g, '$1');
    expect(aSources).toBe('docker,procfs,docker');
    // One line for the switch the stop caused, while the engine was down. (Outside that window a
    // loaded machine may add one: a first cycle cut by its deadline, as the documents may say
    // "auto", or the cycle SIGTERM aborts at the end; the documents above show there was no flapping.)
    expect(auto.logs.slice(aLogsAtStop, aLogsAtStart).filter((l) => l.msg === SWITCH_TO_PROCFS)).toHaveLength(1);
    expect(auto.count(SWITCH_TO_DOCKER)).toBe(2); // at start, and after the restart
    expect(auto.logs.filter((l) => l.msg === SWITCH_TO_DOCKER).map((l) => l.level)).toEqual([30, 30]);

    // docker: host-only documents with exactly one EDOCKERDOWN each, one warn line per cycle.
    const dDown = dock.docs.slice(dFirstDown, dBack).filter(engineDown);
    expect(dDown.length).toBeGreaterThanOrEqual(3);
    for (const d of dDown) {
      expect(d.cycle.discovery).toBe('docker');
      expect(d.errors.filter((e) => e.code === 'EDOCKERDOWN')).toHaveLength(1);
      expect(d.targets.map((t) => t.scope)).toEqual(['host']);
    }
    expect(dock.logs.filter((l) => l.code === 'EDOCKERDOWN')).toHaveLength(dock.docs.filter(engineDown).length);
    // Before and after: the container as the same target (pid and namespace unchanged).
    for (const i of [dStop - 1, dock.docs.length - 1]) {
      const t = dock.docs[i].targets.find((x) => x.containers.some((k) => k.id === c.id));
      expect(t).toMatchObject({ pid: c.pid, netns: ns, scope: 'container' });
    }

    for (const a of [auto, dock]) {
      expectEverySecond(a);
      expect(a.count(SKIPPED_TICKS)).toBe(0);
      expect(a.logs.filter((l) => l.level >= 50)).toEqual([]); // no error/fatal/unparsable lines
    }
  }, 60_000);

  it('containers restarted or removed under the agent: a new namespace never carries the old identity', async () => {
    const eng = engine!;
    const other = await eng.runSockmix({ listen4: 1 }, `spf-${randomBytes(4).toString('hex')}`);
    const dock = agentRun('docker/churn', 'docker', `unix://${eng.socketPath}`);
    agents.push(dock);
    const before = { pid: c.pid, netns: netnsOf(c.pid) };
    await dock.waitFor('both containers', (d) => viaDocker(c.id)(d) && withContainer(other.id)(d), 0);

    // Restart c (new pid, new namespace; the old inode may even be reused) and remove `other`.
    const mark = dock.docs.length;
    await eng.client.getContainer(c.id).restart({ t: 0 });
    await eng.client.getContainer(other.id).remove({ force: true });
    const info = await eng.client.getContainer(c.id).inspect();
    const after = { pid: info.State.Pid, netns: netnsOf(info.State.Pid) };
    expect(after.pid).not.toBe(before.pid);
    const isAfter = (d: Doc) => d.targets.some((t) => t.containers.some((k) => k.id === c.id) && t.pid === after.pid);
    const back = await dock.waitFor('restarted container', isAfter, mark);
    await dock.waitFor('restarted container', isAfter, back + 1);
    expect(await dock.stop()).toBe(0);
    c = { ...c, pid: after.pid };

    for (const d of dock.docs) {
      for (const t of d.targets.filter((x) => x.containers.some((k) => k.id === c.id))) {
        // Only ever (old pid, old netns) or (new pid, new netns): never a mix of the two.
        expect([before, after]).toContainEqual({ pid: t.pid, netns: t.netns });
      }
    }
    const tail = dock.docs.slice(back);
    for (const d of tail) {
      expect(withContainer(other.id)(d)).toBe(false);
      expect(d.errors).toEqual([]);
      expect(d.targets.filter((t) => t.scope === 'container').map((t) => t.netns)).toEqual([after.netns]);
    }
    expectEverySecond(dock);
    expect(dock.count(SKIPPED_TICKS)).toBe(0);
  }, 30_000);

  it('slow engine (list held back beyond docker.timeout): cycles keep their second, carry the error, recover', async () => {
    const eng = engine!;
    const proxy = await startSlowProxy(eng.socketPath);
    try {
      const host = `unix://${proxy.socketPath}`;
      const dock = agentRun('docker/slow', 'docker', host);
      const auto = agentRun('auto/slow', 'auto', host);
      agents.push(dock, auto);
      await Promise.all([dock.waitFor('docker with container', viaDocker(c.id), 0), auto.waitFor('docker with container', viaDocker(c.id), 0)]);

      const [dSlow, aSlow] = [dock.docs.length, auto.docs.length];
      proxy.state.delayMs = 3_000; // > docker.timeout 0.5 s, > the 0.8 s cycle deadline, > the interval
      const dFirst = await dock.waitFor('EDOCKERDOWN', engineDown, dSlow);
      await dock.waitFor('EDOCKERDOWN', engineDown, dSlow, 4);
      await auto.waitFor('procfs', (d) => d.cycle.discovery === 'procfs', aSlow, 3);

      const [dFast, aFast] = [dock.docs.length, auto.docs.length];
      proxy.state.delayMs = 0;
      await dock.waitFor('docker again', viaDocker(c.id), dFast, 2);
      await auto.waitFor('docker again', viaDocker(c.id), aFast, 2);
      expect(await dock.stop()).toBe(0);
      expect(await auto.stop()).toBe(0);

      const slow = dock.docs.slice(dFirst, dFast).filter(engineDown);
      expect(slow.length).toBeGreaterThanOrEqual(4);
      for (const d of slow) {
        expect(d.errors.filter((e) => e.code === 'EDOCKERDOWN')).toHaveLength(1);
        // docker-modem's timeout destroys the request without an error of its own; the agent names
        // the timeout itself so a slow engine reads differently from a reset connection.
        expect(d.errors[0].message).toMatch(/did not answer: no answer within 0\.5 s \(docker\.timeout\)/);
        expect(d.targets.map((t) => t.scope)).toEqual(['host']);
        expect(d.cycle.discover_ms).toBeGreaterThanOrEqual(450); // docker.timeout 0.5 s…
        expect(d.cycle.discover_ms).toBeLessThan(800); // …not the proxy's 3 s, not the cycle deadline
      }
      expect(proxy.state.delayed).toBeGreaterThanOrEqual(4);
      expect(auto.count(SWITCH_TO_PROCFS)).toBe(1);
      expect(auto.count(SWITCH_TO_DOCKER)).toBe(2);
      for (const a of [dock, auto]) {
        expectEverySecond(a);
        // docker.timeout (0.5 s) < cycle deadline (0.8 s) < interval (1 s): no tick is ever skipped.
        expect(a.count(SKIPPED_TICKS)).toBe(0);
        expect(a.docs[a.docs.length - 1].self.ticks_skipped).toBe(0);
      }
    } finally {
      await proxy.close();
    }
  }, 45_000);
});
