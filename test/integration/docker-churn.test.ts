// Containers starting, stopping and restarting every cycle under a running agent daemon (docker
// discovery on the shared private engine), with the engine's API behind a recording proxy:
// - every document shows each of our containers with its own numbers, or not at all, and never
//   an error for a container that went away between listing and reading (a skip);
// - the agent only ever read from the engine: every request it made, over the whole run (start,
//   lists, inspects of new and restarted containers, a pod), was a GET.
import { randomBytes } from 'node:crypto';
import { describeDocker, dockerEnv } from '../helpers/env';
import { AgentRun, Doc } from '../helpers/agent-run';
import { ApiProxy, startApiProxy } from '../helpers/api-proxy';
import { RunningContainer, docker, removeContainer, runContainer, runSockmix } from '../helpers/dockerd';
import { BASELINE_TOTAL } from '../helpers/sockmix';
import { exclusiveNamespaces } from '../helpers/exclusive';

const ROUNDS = 8;
const prefix = `spdc-${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Our containers by id, each with the listeners it holds (inuse = listeners, total = +1). */
const ours = new Map<string, { listen: number; name: string }>();
let seq = 0;
async function start(listen: number, network?: `container:${string}`): Promise<RunningContainer> {
  const name = `${prefix}-${seq++}`;
  const c = await runSockmix({ listen4: listen }, { name, network });
  ours.set(c.id, { listen, name });
  return c;
}

describeDocker('containers churning every cycle, the engine behind a recording proxy', () => {
  let proxy: ApiProxy;
  let agent: AgentRun;
  const running: RunningContainer[] = [];

  let release: (() => void) | undefined;

  beforeAll(async () => {
    release = await exclusiveNamespaces(); // its namespaces would take the inodes identity-reuse waits for
    proxy = await startApiProxy(dockerEnv()!.socketPath);
  }, 310_000);
  afterAll(async () => {
    try {
      await agent?.stop();
      await Promise.all([...ours.keys()].map((id) => removeContainer(id)));
      await proxy?.close();
    } finally {
      release?.();
    }
  }, 60_000);

  it('shows each container with its own numbers or not at all, and only ever sends GET', async () => {
    for (let i = 1; i <= 4; i++) running.push(await start(i));
    // A pod: a sandbox holding the namespace and an app container joined to it.
    const pause = await runContainer({ name: `${prefix}-pod`, cmd: ['sleep', '3600'], labels: { 'io.kubernetes.docker.type': 'podsandbox' } });
    ours.set(pause.id, { listen: 0, name: `${prefix}-pod` });
    await start(5, `container:${pause.id}`);

    agent = new AgentRun('docker-churn', ['--interval', '1', '--discovery', 'docker'], {
      DOCKER_HOST: `unix://${proxy.socketPath}`,
      SOCKPULSE_INCLUDE_NAMES: `${prefix}-.*`,
    });
    const all = (d: Doc) => running.every((c) => d.targets.some((t) => t.containers.some((k) => k.id === c.id)));
    const first = await agent.waitFor('every container', all, 0, 1, 20_000);

    // Each round: one container removed, one started, one restarted (new pid, new namespace).
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = Date.now();
      const victim = running.splice(Math.floor(Math.random() * running.length), 1)[0];
      await removeContainer(victim.id);
      running.push(await start(1 + (round % 4)));
      const again = running[Math.floor(Math.random() * running.length)];
      await docker().getContainer(again.id).restart({ t: 0 });
      await sleep(Math.max(0, 1000 - (Date.now() - t0)));
    }
    const churned = agent.docs.length;
    const settled = await agent.waitFor('every live container', all, churned, 1, 20_000);
    expect(await agent.stop()).toBe(0);

    for (const d of agent.docs.slice(first)) {
      expect(d.errors).toEqual([]);
      for (const t of d.targets.filter((x) => x.scope === 'container')) {
        const members = t.containers.map((k) => ours.get(k.id));
        expect(members.every((m) => m !== undefined)).toBe(true); // only ours (the name filter)
        const listen = members.reduce((n, m) => n + m!.listen, 0);
        // A restarted container is a new namespace with the same mix; a removed one is gone.
        expect({ names: t.labels.container, inuse: t.stats.inuse, total: t.stats.total }).toEqual({
          names: t.labels.container,
          inuse: listen,
          total: listen + BASELINE_TOTAL.docker,
        });
      }
    }
    expect(agent.docs.slice(first, settled).length).toBeGreaterThanOrEqual(ROUNDS);

    // Least privilege on the API: nothing but reads, and the reads cover inspecting new containers.
    const methods = new Set(proxy.requests.map((r) => r.method));
    const paths = new Set(proxy.requests.map((r) => r.path.replace(/\/containers\/[0-9a-f]{64}\//, '/containers/ID/').replace(/\?.*/, '')));
    expect([...methods]).toEqual(['GET']);
    const reads = ['/_ping', '/version', '/containers/json', '/containers/ID/json'];
    expect([...paths].filter((p) => !reads.includes(p))).toEqual([]);
    expect(paths.has('/containers/json') && paths.has('/containers/ID/json')).toBe(true);
    console.log(`docker churn: ${proxy.requests.length} API requests, all GET: ${[...paths].sort().join(' ')}`);
  }, 120_000);
});
