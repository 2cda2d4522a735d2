// discovery.watch with Docker: the agent daemon follows the engine's /events stream instead of
// listing every cycle. On the shared engine behind recording proxies:
// - a container started and one removed between two ticks show in the next cycle, with watch and
//   without; with watch the steady state makes no list call at all, inspects only the new
//   container, and only ever sends GET (to /events too);
// - with watch, a full list every discovery.resync_cycles cycles.
// On an engine of its own (stopped and started mid-run, test/helpers/private-engine.ts): the
// stream reconnects, a list follows the reconnect, the agent never stops, the log says each
// change of state once.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describeDocker, dockerEnv, describeRoot } from '../helpers/env';
import { AgentRun, BIN, Doc, SKIPPED_TICKS } from '../helpers/agent-run';
import { ApiProxy, startApiProxy } from '../helpers/api-proxy';
import { docker, removeContainer, runSockmix } from '../helpers/dockerd';
import { PrivateEngine } from '../helpers/private-engine';

const FOLLOWING = 'following docker events: a cycle lists only every discovery.resync_cycles cycles';
const LOST = 'docker event stream lost: listing every cycle until it is back';
const prefix = `spw-${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const kind = (p: string) => p.replace(/\?.*/, '').replace(/\/containers\/[0-9a-f]{64}\//, '/containers/ID/');
const lists = (proxy: ApiProxy, from = 0) => proxy.requests.filter((r) => r.at >= from && kind(r.path) === '/containers/json').length;
const has = (id: string) => (d: Doc) => d.targets.some((t) => t.containers.some((c) => c.id === id));

function agent(label: string, proxy: ApiProxy, watch: boolean, resync = 1000): AgentRun {
  return new AgentRun(label, ['--interval', '1', '--discovery', 'docker'], {
    DOCKER_HOST: `unix://${proxy.socketPath}`,
    SOCKPULSE_INCLUDE_NAMES: `${prefix}-.*`,
    SOCKPULSE_DISCOVERY_WATCH: String(watch),
    SOCKPULSE_DISCOVERY_RESYNC_CYCLES: String(resync),
  });
}

/** Waits until a whole cycle passed without a list call (watch: the start-up lists are over). */
async function steady(a: AgentRun, proxy: ApiProxy): Promise<number> {
  for (let i = 0; i < 10; i++) {
    const n = lists(proxy);
    const at = Date.now();
    await a.cycles(2);
    if (lists(proxy) === n) return at;
  }
  throw new Error(`${a.label}: still listing every cycle`);
}

/** Every request the agent made was a GET to one of the engine's read endpoints. */
function expectReadsOnly(proxy: ApiProxy): void {
  expect([...new Set(proxy.requests.map((r) => r.method))]).toEqual(['GET']);
  const reads = ['/_ping', '/version', '/containers/json', '/containers/ID/json', '/events'];
  expect([...new Set(proxy.requests.map((r) => kind(r.path)))].filter((p) => !reads.includes(p))).toEqual([]);
}

describeDocker('discovery.watch on the Docker engine (shared engine, recording proxies)', () => {
  const proxies: ApiProxy[] = [];
  const agents: AgentRun[] = [];
  const ids: string[] = [];
  const proxy = async () => {
    const p = await startApiProxy(dockerEnv()!.socketPath);
    proxies.push(p);
    return p;
  };
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(ids.map((id) => removeContainer(id)));
    await Promise.all(proxies.map((p) => p.close()));
  }, 60_000);

  it('a container started and one removed between two ticks: the next cycle shows both changes, with watch (no list call) and without', async () => {
    const a = await runSockmix({ listen4: 1 }, { name: `${prefix}-a` });
    ids.push(a.id);
    const [pw, pl] = [await proxy(), await proxy()];
    const watch = agent('watch', pw, true);
    const list = agent('list', pl, false);
    agents.push(watch, list);
    await Promise.all([watch.waitFor('a', has(a.id), 0, 2), list.waitFor('a', has(a.id), 0, 2)]);
    const from = await steady(watch, pw);
    const [wFrom, lFrom] = [watch.docs.length, list.docs.length];

    const b = await runSockmix({ listen4: 2 }, { name: `${prefix}-b` });
    ids.push(b.id);
    await removeContainer(a.id);
    const done = Date.now();
    // The first cycle whose tick comes after both changes (the events arrive within milliseconds).
    const next = (d: Doc) => d.timestamp * 1000 >= done + 100;
    for (const [ag, i0] of [[watch, wFrom], [list, lFrom]] as const) {
      const d = ag.docs[await ag.waitFor('the tick after the changes', next, i0)];
      expect({ agent: ag.label, a: has(a.id)(d), b: has(b.id)(d), errors: d.errors }).toEqual({ agent: ag.label, a: false, b: true, errors: [] });
      const t = d.targets.find((x) => x.containers.some((c) => c.id === b.id))!;
      expect({ agent: ag.label, name: t.labels.container, inuse: t.stats.inuse }).toEqual({ agent: ag.label, name: `${prefix}-b`, inuse: 2 });
    }
    await Promise.all([watch.cycles(2), list.cycles(2)]);
    const end = Date.now();
    expect(await watch.stop()).toBe(0);
    expect(await list.stop()).toBe(0);

    // With watch: no list call from the steady state on; one inspect, of the new container; the
    // stream opened once. Without: a list every cycle.
    const after = pw.requests.filter((r) => r.at >= from);
    expect(after.map((r) => kind(r.path)).filter((k) => k !== '/containers/ID/json')).toEqual([]);
    const inspected = after.map((r) => /\/containers\/([0-9a-f]{64})\//.exec(r.path)![1]);
    expect(inspected.filter((id) => id === b.id)).toHaveLength(1);
    // `a` may be inspected once: a cycle between its process exiting and the engine's `die` finds
    // its pid gone (as it would without watch). Any other inspect is of a container another suite
    // started (or restarted) on the shared engine: each start is inspected once, before the name filter.
    expect(inspected.filter((id) => id === a.id).length).toBeLessThanOrEqual(1);
    const others = [...new Set(inspected.filter((id) => id !== b.id && id !== a.id))];
    const names = await Promise.all(others.map((id) => docker().getContainer(id).inspect().then((i) => i.Name, () => '(removed)')));
    expect(names.filter((n) => n.includes(prefix))).toEqual([]);
    expect(pw.requests.filter((r) => kind(r.path) === '/events')).toHaveLength(1);
    expect(pw.requests.find((r) => kind(r.path) === '/events')!.path).toMatch(/filters=/);
    const cycles = list.docs.filter((d) => d.timestamp * 1000 >= from && d.timestamp * 1000 < end).length;
    expect(lists(pl, from)).toBeGreaterThanOrEqual(cycles - 1);
    expect(watch.count(FOLLOWING)).toBe(1);
    expect(watch.count(LOST)).toBe(0);
    for (const p of [pw, pl]) expectReadsOnly(p);
    for (const ag of [watch, list]) expect(ag.logs.filter((l) => l.level >= 50)).toEqual([]);
    console.log(`docker watch: steady ${after.length} request(s) (${after.map((r) => kind(r.path))}, ${inspected.map((id) => (id === b.id ? 'b' : 'a'))}) vs ${lists(pl, from)} lists without watch over ${cycles} cycles`);
  }, 90_000);

  it('--once with watch: one cycle through a list, and the process exits (the stream is closed)', async () => {
    const p = await proxy();
    const t0 = Date.now();
    const r = await promisify(execFile)(process.execPath, [BIN, '--once', '--format', 'json', '--discovery', 'docker'], {
      env: { PATH: process.env.PATH, DOCKER_HOST: `unix://${p.socketPath}`, SOCKPULSE_DISCOVERY_WATCH: 'true' },
      timeout: 30_000,
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
    const doc = JSON.parse(r.stdout) as Doc;
    expect([doc.cycle.discovery, doc.errors]).toEqual(['docker', []]);
    expect(lists(p)).toBe(1);
    expectReadsOnly(p);
  }, 40_000);

  it('with watch, a full list every discovery.resync_cycles cycles', async () => {
    const p = await proxy();
    const watch = agent('watch/resync', p, true, 3);
    agents.push(watch);
    await watch.cycles(4, 0, 20_000);
    const from = Date.now();
    const i0 = watch.docs.length;
    await watch.cycles(9, i0, 20_000);
    const n = lists(p, from);
    expect(await watch.stop()).toBe(0);
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4); // 9 cycles / 3, ±1 at the edges
    expectReadsOnly(p);
  }, 60_000);
});

describeRoot('discovery.watch: the engine restarted under the agent (private engine)', () => {
  let engine: PrivateEngine | undefined;
  let p: ApiProxy | undefined;
  let watch: AgentRun | undefined;

  beforeAll(async () => {
    engine = await PrivateEngine.create();
  }, 120_000);
  afterAll(async () => {
    await watch?.stop();
    await p?.close();
    await engine?.destroy();
  }, 60_000);

  it('the stream reconnects, a list follows, the agent never stops; one log line per change of state', async () => {
    const eng = engine!;
    const c = await eng.runSockmix({ listen4: 1 }, `${prefix}-r1`);
    p = await startApiProxy(eng.socketPath);
    watch = agent('watch/restart', p, true);
    await watch.waitFor('c', has(c.id), 0);
    await steady(watch, p);

    const stopAt = Date.now();
    await eng.stop();
    await watch.waitFor('EDOCKERDOWN', (d) => d.errors.some((e) => e.code === 'EDOCKERDOWN'), 0, 2);
    await eng.start();
    const upAt = Date.now();
    // Back: the container again, through a list after the stream reopened; then steady again.
    const back = await watch.waitFor('c again', (d) => has(c.id)(d) && d.errors.length === 0 && d.timestamp * 1000 > upAt, 0, 1, 30_000);
    await waitUntil(() => watch!.count(FOLLOWING) === 2, 30_000);
    const from = await steady(watch, p);
    // The resync: a list made after the stream reopened (pino's `time` of the second line).
    const reopenedAt = (watch.logs.filter((l) => l.msg === FOLLOWING)[1] as unknown as { time: number }).time;
    expect(reopenedAt).toBeGreaterThan(upAt - 1000);
    expect(lists(p, reopenedAt)).toBeGreaterThanOrEqual(1);

    // A container started after the restart is found through the reopened stream, with no list.
    const c2 = await eng.runSockmix({ listen4: 3 }, `${prefix}-r2`);
    const i = await watch.waitFor('c2', has(c2.id), back);
    expect(watch.docs[i].targets.find((t) => t.containers.some((k) => k.id === c2.id))?.stats.inuse).toBe(3);
    await watch.cycles(1);
    expect(lists(p, from)).toBe(0);
    expect(await watch.stop()).toBe(0);

    expect(watch.count(LOST)).toBe(1);
    expect(watch.count(FOLLOWING)).toBe(2);
    expect(watch.count(SKIPPED_TICKS)).toBe(0);
    expect(watch.logs.filter((l) => l.level >= 50)).toEqual([]);
    expect(p.requests.filter((r) => kind(r.path) === '/events' && r.at > stopAt).length).toBeGreaterThanOrEqual(1);
    expectReadsOnly(p);
  }, 120_000);
});

async function waitUntil(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(100);
  }
}
