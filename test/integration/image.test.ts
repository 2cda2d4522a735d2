// The container image (deploy/docker/Dockerfile), built on the private engine from a locally made
// base (test/helpers/image.ts) and run the way deploy/docker/README.md says: host PID namespace,
// every capability dropped but SYS_PTRACE, read-only root, no network; reading the other
// containers of the same engine.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths';
import { describeDocker, dockerEnv } from '../helpers/env';
import { RunningContainer, removeContainer, runSockmix, uniqueName } from '../helpers/dockerd';
import { expectedStats } from '../helpers/sockmix';
import { AgentImage, dockerCli, ensureAgentImage } from '../helpers/image';
import { PrivateContainerd, leftovers } from '../helpers/private-containerd';

interface Doc {
  cycle: Record<string, number | string>;
  targets: {
    netns: number;
    pid: number;
    scope: string;
    labels: Record<string, string>;
    containers: { id: string; name: string | null; image: string | null }[];
    stats: Record<string, number | null>;
  }[];
  errors: { stage: string; code: string; message: string }[];
}

/** Flags of deploy/docker/README.md, minus what each case changes. */
const SECURE = ['--pid', 'host', '--cap-drop', 'ALL', '--cap-add', 'SYS_PTRACE', '--read-only', '--network', 'none'];

function runAgent(image: string, flags: string[], args: string[]) {
  const r = dockerCli(['run', '--rm', '--name', uniqueName('spimg'), '--label', 'sockpulse.test=1', ...flags, image, ...args], 30_000);
  if (r.error) throw r.error;
  return r;
}

function parse(stdout: string, stderr: string): Doc {
  try {
    return JSON.parse(stdout) as Doc;
  } catch {
    throw new Error(`not one JSON document on stdout:\n${stdout.slice(0, 2000)}\nstderr:\n${stderr.slice(-2000)}`);
  }
}

describeDocker('container image (deploy/docker/Dockerfile)', () => {
  let img: AgentImage;
  let c: RunningContainer | undefined;
  const mix = { listen4: 2, estab4: 3, timewait4: 1, udp4: 1, listen6: 1, estab6: 1, udp6: 2, unix: 1 };
  const e = expectedStats(mix, 'docker');
  const want = { established: e.established, inuse: e.inuse, timewait: e.timewait, orphan: 0, total: e.total, udp: e.udp };

  beforeAll(async () => {
    img = await ensureAgentImage();
    console.log(
      `image ${img.tag} ${img.id.slice(7, 19)}: ${(img.size / 1e6).toFixed(1)} MB; ` +
        `base made+imported in ${img.baseMs} ms, built in ${img.buildMs} ms (${img.builtWith})`,
    );
    c = await runSockmix(mix); // after the build: its TIME_WAIT socket lives 60 s
  }, 180_000);

  afterAll(async () => {
    if (c) await removeContainer(c.id);
  });

  it('is small, runs node directly as uid 0, every runtime dependency loads, no dev dependency', () => {
    expect(img.size).toBeLessThan(150e6);
    const [info] = JSON.parse(dockerCli(['image', 'inspect', img.tag]).stdout) as Array<{ Config: { User: string; Entrypoint: string[] } }>;
    expect(info.Config.User).toBe('0:0');
    expect(info.Config.Entrypoint).toEqual(['/usr/local/bin/node', '--max-semi-space-size=2', '--heap-growing-percent=20', '/app/bin/sockpulse.js']);
    // Every production dependency (and the OTLP serializers, resolved from each exporter) loads
    // from the pruned tree that .dockerignore thinned (no maps, no .d.ts, no ESM builds).
    const script = [
      "const fs = require('fs');",
      "const deps = Object.keys(require('/app/package.json').dependencies).map((d) => { require(d); return d; });",
      "const otlp = require('/app/dist/src/deliver/otlp/data.js');",
      "const ser = ['http/protobuf', 'http/json'].map((p) => typeof otlp.exporterSerializer(p).serializeRequest);",
      "const dev = ['typescript', 'jest', 'fast-check', 'kubernetes-models', 'statsd', 'prom-client'].filter((p) => fs.existsSync('/app/node_modules/' + p));",
      'console.log(JSON.stringify({ deps: deps.length, ser, dev }));',
    ].join('\n');
    const r = runAgent(img.tag, ['--read-only', '--network', 'none', '--entrypoint', '/usr/local/bin/node'], ['-e', script]);
    expect(r.stderr).toBe('');
    const runtimeDeps = Object.keys((JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: object }).dependencies).length;
    expect(JSON.parse(r.stdout)).toEqual({ deps: runtimeDeps, ser: ['function', 'function'], dev: [] });
    // The base's unprivileged user runs the CLI (no host access needed for --help).
    const h = runAgent(img.tag, ['--user', '10001', '--read-only', '--network', 'none', '--cap-drop', 'ALL'], ['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/--once/);
  });

  it('with the engine socket mounted: names the container with its exact numbers', () => {
    const sock = dockerEnv()!.socketPath;
    const r = runAgent(img.tag, [...SECURE, '-v', `${sock}:/var/run/docker.sock:ro`], ['--once', '--format', 'json']);
    const doc = parse(r.stdout, r.stderr);
    expect(doc.errors).toEqual([]);
    expect(r.status).toBe(0);
    expect(doc.cycle).toMatchObject({ discovery: 'docker', errors: 0 });
    expect(doc.targets.filter((t) => t.scope === 'host')).toHaveLength(1);
    const t = doc.targets.find((x) => x.containers.some((k) => k.id === c!.id));
    expect(t).toMatchObject({ pid: c!.pid, scope: 'container', containers: [{ id: c!.id, name: c!.name, image: 'sockpulse-test:latest' }] });
    expect(t!.netns).toBe(Number(/\d+/.exec(fs.readlinkSync(`/proc/${c!.pid}/ns/net`))![0]));
    expect(t!.stats).toEqual(want);
  });

  it('--discovery procfs (no socket): finds the container through /proc with the same numbers', () => {
    const r = runAgent(img.tag, SECURE, ['--once', '--format', 'json', '--discovery', 'procfs']);
    const doc = parse(r.stdout, r.stderr);
    expect(doc.errors).toEqual([]);
    expect(r.status).toBe(0);
    expect(doc.cycle).toMatchObject({ discovery: 'procfs', errors: 0 });
    const t = doc.targets.find((x) => x.containers.some((k) => k.id === c!.id));
    expect(t).toMatchObject({ scope: 'container', netns: Number(/\d+/.exec(fs.readlinkSync(`/proc/${c!.pid}/ns/net`))![0]) });
    expect(t!.stats).toEqual(want);
  });

  it('without SYS_PTRACE: exits 1 with the privilege error, not empty numbers', () => {
    const flags = SECURE.filter((f, i) => f !== 'SYS_PTRACE' && SECURE[i + 1] !== 'SYS_PTRACE');
    expect(flags).not.toContain('--cap-add');
    const r = runAgent(img.tag, flags, ['--once', '--format', 'json', '--discovery', 'procfs']);
    const doc = parse(r.stdout, r.stderr);
    expect(r.status).toBe(1);
    expect(doc.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ stage: 'discover', code: 'EACCES', message: expect.stringMatching(/grant CAP_SYS_PTRACE/) }),
      ]),
    );
    expect(doc.targets.some((x) => x.containers.some((k) => k.id === c!.id))).toBe(false);
    for (const t of doc.targets) expect(Object.values(t.stats).some((v) => v !== null)).toBe(true);
  });
});

// What the DaemonSet does on a containerd node (deploy/kubernetes/sockpulse.yaml): host PID, only
// SYS_PTRACE, read-only root, the runtime's socket mounted read-only at its usual path, discovery
// `auto`, which must find the CRI runtime by itself (no Docker socket in the container).
describeDocker('container image as the DaemonSet on a containerd node', () => {
  let img: AgentImage;
  let rt: PrivateContainerd;

  beforeAll(async () => {
    img = await ensureAgentImage();
    rt = await PrivateContainerd.create();
  }, 180_000);
  afterAll(async () => {
    if (rt) {
      await rt.destroy();
      expect(leftovers(rt)).toEqual([]);
    }
  }, 120_000);

  it('auto finds the CRI socket and shows each pod as namespace/pod with its containers and exact numbers', async () => {
    const mix = { listen4: 1, estab4: 2, timewait4: 1, udp4: 1, listen6: 1, estab6: 1, udp6: 1 };
    const pod = await rt.runPod({ name: 'api-0', namespace: 'payments', containers: [{ name: 'server', mix }, { name: 'proxy' }] });
    await rt.waitReady(pod, 'server');
    const r = runAgent(img.tag, [...SECURE, '-v', `${rt.socketPath}:/run/containerd/containerd.sock:ro`], ['--once', '--format', 'json']);
    const doc = parse(r.stdout, r.stderr);
    expect(doc.errors).toEqual([]);
    expect(r.status).toBe(0);
    expect(doc.cycle).toMatchObject({ discovery: 'cri', errors: 0 });
    expect(r.stderr).toMatch(/discovering containers through cri/);
    const t = doc.targets.find((x) => x.labels.pod === 'api-0')!;
    expect(t).toMatchObject({ pid: pod.pid, scope: 'container', labels: { namespace: 'payments', kube_container: 'proxy,server' } });
    expect(t.netns).toBe(fs.statSync(`/proc/${pod.pid}/ns/net`).ino);
    const e = expectedStats(mix, 'netns');
    expect(t.stats).toMatchObject({ established: e.established, inuse: e.inuse, timewait: e.timewait, total: e.total, udp: e.udp });
    await rt.removePod(pod.id);
  }, 60_000);
});

