// A real Docker engine (started by the test suite, test/setup/global-setup.ts) with containers
// built from a locally imported image: the agent must find each container's namespace and report
// exactly what the kernel keeps for it.
import { randomBytes } from 'crypto';
import Docker from 'dockerode';
import { CollectStage } from '../../src/collect/stage';
import { compileFilters } from '../../src/discover/filters';
import { DockerDiscovery } from '../../src/discover/docker/discovery';
import { DiscoveryResult, Target } from '../../src/core/model';
import { namespaceValues } from '../../src/core/stats';
import { ApiProxy, startApiProxy } from '../helpers/api-proxy';
import { pauseContainer, removeContainer, runContainer, runSockmix, unpauseContainer, docker, RunningContainer } from '../helpers/dockerd';
import { describeDocker, dockerEnv } from '../helpers/env';
import { Mix, expectedStats } from '../helpers/sockmix';

const collect = new CollectStage('/proc');
// The mixes hold no orphans: each namespace's own count is 0. The private dockerd runs with
// --iptables=false: nothing in a container's namespace needs conntrack.
const core = (e: ReturnType<typeof expectedStats>) => ({ established: e.established, inuse: e.inuse, timewait: e.timewait, total: e.total, udp: e.udp, orphan: 0, conntrack_entries: 0 });

describeDocker('Docker discovery on a real engine', () => {
  // Only this suite's containers: other suites share the engine.
  const suite = `s${randomBytes(4).toString('hex')}`;
  const labels = { 'sockpulse.suite': suite };
  const started: RunningContainer[] = [];
  let proxy: ApiProxy;
  let discovery: DockerDiscovery;

  const run = async (p: Promise<RunningContainer>) => {
    const c = await p;
    started.push(c);
    return c;
  };
  const targetOf = (r: DiscoveryResult, c: RunningContainer): Target | undefined => r.targets.find((t) => t.containers.some((x) => x.id === c.id));
  const statsOf = (t: Target) => {
    const out = collect.run([t]);
    expect(out.errors).toEqual([]);
    return Object.fromEntries(namespaceValues(out.results[0]));
  };

  beforeAll(async () => {
    proxy = await startApiProxy(dockerEnv()!.socketPath);
    discovery = new DockerDiscovery(new Docker({ socketPath: proxy.socketPath }), {
      procRoot: '/proc',
      copyLabels: ['sockpulse.suite'],
      filter: compileFilters({ include_names: [], exclude_names: [], include_labels: [`sockpulse.suite=${suite}`], exclude_labels: [] }),
      hasIncludeFilter: true,
      concurrency: 4,
      endpoint: proxy.socketPath,
    });
  });
  afterAll(async () => {
    await Promise.all(started.map((c) => removeContainer(c.id)));
    await proxy.close();
  });

  it('reports a container with a known socket mix (IPv4 and IPv6) exactly', async () => {
    const mix: Mix = { listen4: 2, listen6: 1, estab4: 3, estab6: 2, timewait4: 2, timewait6: 1, udp4: 2, udp6: 1 };
    const c = await run(runSockmix(mix, { labels }));
    const r = await discovery.discover(AbortSignal.timeout(10000));
    expect(r.errors).toEqual([]);
    const t = targetOf(r, c)!;
    expect(t).toMatchObject({ scope: 'container', pid: c.pid, labels: { container: c.name, 'sockpulse.suite': suite } });
    expect(t.containers).toEqual([expect.objectContaining({ id: c.id, name: c.name, image: 'sockpulse-test:latest' })]);
    expect(statsOf(t)).toEqual(core(expectedStats(mix, 'docker')));
  });

  it('makes one target of a pod: pause container plus an app joined to its network', async () => {
    const pod = { ...labels, 'io.kubernetes.pod.name': 'api-0', 'io.kubernetes.pod.namespace': 'prod' };
    const pause = await run(runContainer({ cmd: ['sleep', '3600'], labels: { ...pod, 'io.kubernetes.docker.type': 'podsandbox' } }));
    const mix: Mix = { estab4: 5, udp4: 1 };
    const app = await run(runSockmix(mix, { network: `container:${pause.id}`, labels: { ...pod, 'io.kubernetes.container.name': 'app' } }));
    const r = await discovery.discover(AbortSignal.timeout(10000));
    const t = targetOf(r, app)!;
    expect(targetOf(r, pause)).toBe(t);
    expect(r.targets.filter((x) => x === t)).toHaveLength(1);
    expect(t.containers.map((x) => x.id).sort()).toEqual([pause.id, app.id].sort());
    expect(t.labels).toMatchObject({ pod: 'api-0', namespace: 'prod', kube_container: 'app', container: app.name });
    expect(statsOf(t)).toEqual(core(expectedStats(mix, 'docker')));
  });

  it('puts a --network host container on the host target, not a target of its own', async () => {
    const h = await run(runContainer({ cmd: ['sleep', '3600'], network: 'host', labels }));
    const r = await discovery.discover(AbortSignal.timeout(10000));
    const hosts = r.targets.filter((t) => t.scope === 'host');
    expect(hosts).toHaveLength(1);
    expect(targetOf(r, h)).toBe(hosts[0]);
    expect(hosts[0].labels).toEqual({}); // listed, but the host's numbers are not the container's
  });

  it('reads a paused container', async () => {
    const mix: Mix = { listen4: 4, estab4: 1 };
    const c = await run(runSockmix(mix, { labels }));
    await pauseContainer(c.id);
    try {
      const t = targetOf(await discovery.discover(AbortSignal.timeout(10000)), c)!;
      expect(statsOf(t)).toEqual(core(expectedStats(mix, 'docker')));
    } finally {
      await unpauseContainer(c.id);
    }
  });

  it('skips a container that exits between discovery and reading, without an error', async () => {
    const c = await run(runContainer({ cmd: ['sleep', '3600'], labels }));
    const t = targetOf(await discovery.discover(AbortSignal.timeout(10000)), c)!;
    await removeContainer(c.id);
    const out = collect.run([t]);
    expect(out).toMatchObject({ results: [], errors: [], skipped: [t] });
  });

  it('follows a restarted container to its new process', async () => {
    const c = await run(runContainer({ cmd: ['sleep', '3600'], labels }));
    expect(targetOf(await discovery.discover(AbortSignal.timeout(10000)), c)!.pid).toBe(c.pid);
    await docker().getContainer(c.id).restart({ t: 0 });
    const pid = (await docker().getContainer(c.id).inspect()).State.Pid;
    expect(pid).not.toBe(c.pid);
    const t = targetOf(await discovery.discover(AbortSignal.timeout(10000)), c)!;
    expect(t.pid).toBe(pid);
    expect(statsOf(t)).toEqual(core(expectedStats({}, 'docker')));
  });

  it('shows a renamed container under its new name (its kept ref is made again)', async () => {
    const c = await run(runContainer({ cmd: ['sleep', '3600'], labels }));
    const before = targetOf(await discovery.discover(AbortSignal.timeout(10000)), c)!;
    const name = `renamed-${suite}`;
    await docker().getContainer(c.id).rename({ name });
    const t = targetOf(await discovery.discover(AbortSignal.timeout(10000)), c)!;
    expect(t.pid).toBe(before.pid);
    expect(t.containers.map((x) => x.name)).toEqual([name]);
    expect(t.labels.container).toBe(name);
  });

  it('in steady state makes one list call and no inspect per cycle, and only reads (GET)', async () => {
    await run(runContainer({ cmd: ['sleep', '3600'], labels }));
    await discovery.discover(AbortSignal.timeout(10000)); // warm: inspects what is new
    proxy.requests.length = 0;
    for (let i = 0; i < 3; i++) await discovery.discover(AbortSignal.timeout(10000));
    expect(proxy.requests.map(({ method, path }) => ({ method, path }))).toEqual(Array(3).fill({ method: 'GET', path: '/containers/json' }));
  });

  it('reports an engine that does not answer as one discover error and still reports the host', async () => {
    const dead = new DockerDiscovery(new Docker({ socketPath: '/nonexistent/docker.sock' }), {
      procRoot: '/proc',
      copyLabels: [],
      filter: () => true,
      hasIncludeFilter: false,
      concurrency: 1,
      endpoint: 'unix:///nonexistent/docker.sock',
    });
    const r = await dead.discover(AbortSignal.timeout(5000));
    expect(r.targets.map((t) => t.scope)).toEqual(['host']);
    expect(r.errors).toEqual([expect.objectContaining({ stage: 'discover', code: 'EDOCKERDOWN', message: expect.stringMatching(/nonexistent.*ENOENT/) })]);
  });
});
