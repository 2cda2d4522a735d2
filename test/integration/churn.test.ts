// Thousands of namespaces and fast churn under a running agent daemon (procfs discovery, a cycle
// every 2 s): every cycle while a twentieth of the namespaces die and are replaced each second,
// the agent reports every namespace that lived through the cycle with its own kernel numbers,
// never one that is gone with made-up numbers, never an error for a process that left (a skip),
// and its open descriptors follow the live namespaces instead of growing with the churn.
import fs from 'node:fs';
import path from 'node:path';
import { describeRoot, REPO_ROOT } from '../helpers/env';
import { AgentRun, Doc, timestampGaps } from '../helpers/agent-run';
import { BenchNs, HEAVY_EXPECTED, NsPool, NsStats, PLAIN_EXPECTED } from '../../bench/spawn';
import { exclusiveNamespaces } from '../helpers/exclusive';

const NAMESPACES = 2000;
const STABLE = 1000; // never churned: must be in every document
const CHURN_PER_ROUND = 100;
const ROUNDS = 10;
const SOCKMIX = path.join(REPO_ROOT, '.build', 'sockmix');
// A cycle over 2000 namespaces takes 0.2–0.5 s here while 100 processes a second are spawned and
// killed next to another test worker: 2 s leaves room for that, so a skipped tick is a real fault.
const INTERVAL = 2;

const expected = (ns: BenchNs): NsStats => (ns.kind === 'heavy' ? HEAVY_EXPECTED : PLAIN_EXPECTED);
const statsOf = (t: Doc['targets'][number]): NsStats => ({
  inuse: t.stats.inuse!,
  established: t.stats.established!,
  udp: t.stats.udp!,
  total: t.stats.total!,
  timewait: t.stats.timewait!,
});
const openFds = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;

describeRoot(`${NAMESPACES} namespaces, ${CHURN_PER_ROUND} replaced every second, a cycle every ${INTERVAL} s`, () => {
  const pool = new NsPool(SOCKMIX);
  let agent: AgentRun | undefined;
  let release: (() => void) | undefined;

  beforeAll(async () => {
    release = await exclusiveNamespaces();
  }, 310_000);
  afterAll(async () => {
    try {
      await agent?.stop();
      const { left } = await pool.killAll();
      expect(left).toEqual([]);
    } finally {
      release?.();
    }
  }, 60_000);

  it('reports every namespace that lived through a cycle, with its own numbers, and nothing else', async () => {
    const t0 = Date.now();
    await pool.growTo(NAMESPACES, 10, 200);
    const grown = Date.now() - t0;
    const stable = new Set(pool.all.slice(0, STABLE));
    // Every namespace of ours, by inode and pid: a dead one's inode may be reused by another suite's
    // container, and the agent reads a namespace through its lowest pid (unshare's, or the child's).
    const ever = new Map<string, BenchNs>();
    const remember = (ns: BenchNs) => [ns.unshare.pid!, ns.pid].forEach((pid) => ever.set(`${ns.netns}:${pid}`, ns));
    pool.all.forEach(remember);
    const oursOf = (t: Doc['targets'][number]) => ever.get(`${t.netns}:${t.pid}`);

    // The six statistics only (sockstat, snmp, orphans): this test is about namespaces leaving
    // under the agent. The other default collectors have their own tests, and with them a cycle
    // at 2000 namespaces took 0.7–1.1 s — on 2 cores shared with the other suites, now and then
    // longer than the 2 s interval (a skipped tick, one cycle fewer during the churn).
    const sixStats = { SOCKPULSE_COLLECTOR_PROTOCOLS_ENABLED: 'false', SOCKPULSE_COLLECTOR_INTERFACES_ENABLED: 'false', SOCKPULSE_COLLECTOR_CONNTRACK_ENABLED: 'false' };
    agent = new AgentRun('churn', ['--interval', String(INTERVAL), '--discovery', 'procfs'], sixStats);
    const ours = (d: Doc) => d.targets.filter((t) => oursOf(t) !== undefined).length;
    const start = await agent.waitFor('every namespace', (d) => ours(d) === NAMESPACES, 0, 1, 30_000);
    await agent.cycles(1, start + 1);
    const fdsBefore = openFds(agent.child.pid!);

    // Churn: each round kills CHURN_PER_ROUND namespaces outside the stable set and starts as many.
    const mark = agent.docs.length;
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = Date.now();
      const victims = pool.all.filter((ns) => !stable.has(ns)).sort(() => Math.random() - 0.5).slice(0, CHURN_PER_ROUND);
      (await pool.replace(victims)).forEach(remember);
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t0))));
    }
    const churned = agent.docs.length;
    const live = new Map(pool.all.map((ns) => [ns.netns, ns]));
    const settled = await agent.waitFor('the settled pool', (d) => d.targets.filter((t) => live.has(t.netns)).length === NAMESPACES, churned, 1, 15_000);
    await agent.cycles(1, settled + 1);
    const fdsAfter = openFds(agent.child.pid!);
    expect(await agent.stop()).toBe(0);

    const during = agent.docs.slice(mark, churned);
    expect(during.length).toBeGreaterThanOrEqual(ROUNDS / INTERVAL - 1); // rounds take a second or more
    for (const d of agent.docs.slice(start)) {
      expect(d.errors).toEqual([]); // a namespace that left is a skip, not an error
      const byNetns = new Map(d.targets.map((t) => [t.netns, t]));
      for (const ns of stable) expect({ netns: ns.netns, stats: byNetns.get(ns.netns) && statsOf(byNetns.get(ns.netns)!) }).toEqual({ netns: ns.netns, stats: expected(ns) });
      // Every namespace of ours reported carries its own kind's numbers (0 or 290 sockets): an
      // inode reused by a newer namespace carries the newer one's.
      for (const t of d.targets) {
        const ns = oursOf(t);
        if (ns) expect({ netns: t.netns, stats: statsOf(t) }).toEqual({ netns: t.netns, stats: expected(ns) });
      }
    }
    // The last document: exactly the live pool, each with its own numbers.
    const last = agent.docs[settled];
    for (const t of last.targets.filter((x) => live.has(x.netns))) expect(statsOf(t)).toEqual(expected(live.get(t.netns)!));

    // A document every INTERVAL seconds through the churn, never two for one slot; a slot without
    // one is a tick the agent skipped and counted (a cycle over 2000 namespaces may outlast the
    // interval on 2 cores that a neighbouring suite loads too; seen once in ten full runs).
    const gaps = timestampGaps(agent, INTERVAL, start);
    expect(gaps.filter((g) => g <= 0 || g % INTERVAL !== 0)).toEqual([]);
    const missing = gaps.reduce((n, g) => n + g / INTERVAL - 1, 0);
    const final = agent.docs[agent.docs.length - 1];
    expect(final.self.ticks_skipped - agent.docs[start].self.ticks_skipped).toBe(missing);
    // Descriptors follow the live namespaces (3 kept files each), not the churn.
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore + 10);
    console.log(
      `${NAMESPACES} namespaces, ${ROUNDS}×${CHURN_PER_ROUND} replaced: ${during.length} cycles during churn, ` +
        `collect ms ${Math.min(...during.map((d) => d.cycle.collect_ms))}–${Math.max(...during.map((d) => d.cycle.collect_ms))}, ` +
        `skipped ${during.reduce((n, d) => n + d.cycle.skipped, 0)} namespaces and ${missing} ticks, fds ${fdsBefore} → ${fdsAfter}; pool made in ${grown} ms, test ${Date.now() - t0} ms`,
    );
  }, 240_000);
});
