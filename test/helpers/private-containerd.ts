// A containerd of one suite's own, with its CRI plugin, so tests run Kubernetes-style pods on the
// real runtime without a kubelet: pods are made through the CRI API (the same grpc-js and
// proto-loader sockpulse uses, with the test's own subset of upstream's proto,
// test/fixtures/cri/runtime-test.proto).
//
// Isolation (design/backends.md, "containerd CRI (real)"): root, state, sockets, runc root, CNI
// config and IPAM data under a fresh /tmp/spc-XXXXXX; a `bridge` network of its own (own bridge
// name, no gateway address, no masquerade: host routes and firewall untouched) on a random
// private /24; pods' cgroups under a parent of their own. The image is made by hand as a
// docker-archive (static pause + static busybox + sockmix) and imported with ctr: no registry.
// destroy() removes the pods, stops containerd and its shims, deletes the bridge, the cgroups,
// libcni's cached results and the temp dir.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { BUILD_DIR, REPO_ROOT } from './paths';
import { Mix, SOCKMIX_BIN, mixArgs } from './sockmix';
import { isAlive, waitGone } from './procs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const PAUSE_IMAGE = 'docker.io/sockpulse/pause:test';
export const APP_IMAGE = 'docker.io/sockpulse/app:test';
const TEST_PROTO = path.join(REPO_ROOT, 'test', 'fixtures', 'cri', 'runtime-test.proto');
const PAUSE_SRC = path.join(REPO_ROOT, 'test', 'fixtures', 'cri', 'pause.c');
const PAUSE_BIN = path.join(BUILD_DIR, 'pause');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Msg = any;

/** A promise-returning CRI client over the test proto (every method the tests call). */
export class CriTestClient {
  private readonly stub: grpc.Client & Record<string, Function>;

  constructor(socketPath: string) {
    const def = grpc.loadPackageDefinition(protoLoader.loadSync(TEST_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }));
    const Service = ((def.runtime as grpc.GrpcObject).v1 as grpc.GrpcObject).RuntimeService as grpc.ServiceClientConstructor;
    this.stub = new Service(`unix://${socketPath}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Function>;
  }

  call(method: string, req: Msg, timeoutMs = 60_000): Promise<Msg> {
    return new Promise((resolve, reject) => {
      this.stub[method](req, { deadline: Date.now() + timeoutMs }, (err: Error | null, res: Msg) => (err ? reject(err) : resolve(res)));
    });
  }

  close(): void {
    this.stub.close();
  }
}

export interface PodSpec {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  hostNetwork?: boolean;
  /** The pod's uid and the sandbox's attempt: a kubelet replacing a pod's sandbox keeps the uid and counts up. */
  uid?: string;
  attempt?: number;
  /** App containers: a name and either a sockmix mix or a plain command (default: sleep). */
  containers?: { name: string; mix?: Mix; command?: string[] }[];
}

export interface Pod {
  id: string;
  uid: string;
  name: string;
  namespace: string;
  containers: { id: string; name: string }[];
  /** The sandbox's pause pid (verbose status). */
  pid: number;
  ip: string;
}

export class PrivateContainerd {
  readonly socketPath: string;
  readonly client: CriTestClient;
  readonly bridge: string;
  readonly network: string;
  readonly cgroupParent: string;
  private pid: number | undefined;
  private readonly pods = new Set<string>();

  private constructor(readonly tmpDir: string) {
    const tag = path.basename(tmpDir).replace(/[^a-zA-Z0-9]/g, '').slice(-6).toLowerCase();
    this.socketPath = path.join(tmpDir, 'c.sock');
    this.bridge = `spcri${tag}`.slice(0, 15);
    this.network = `sockpulse-${tag}`;
    this.cgroupParent = `/sockpulse-cri-${tag}`;
    this.client = new CriTestClient(this.socketPath);
  }

  static async create(): Promise<PrivateContainerd> {
    const c = new PrivateContainerd(fs.mkdtempSync(path.join(os.tmpdir(), 'spc-')));
    try {
      c.writeConfig();
      await c.start();
      c.importImage();
    } catch (err) {
      await c.destroy().catch(() => undefined);
      throw err;
    }
    return c;
  }

  get containerdPid(): number | undefined {
    return this.pid;
  }

  private writeConfig(): void {
    const t = this.tmpDir;
    const subnet = `10.${200 + crypto.randomInt(50)}.${crypto.randomInt(256)}.0/24`;
    fs.mkdirSync(path.join(t, 'cni'));
    fs.writeFileSync(
      path.join(t, 'cni', '10-sockpulse.conflist'),
      JSON.stringify({
        cniVersion: '0.4.0',
        name: this.network,
        plugins: [{ type: 'bridge', bridge: this.bridge, isGateway: false, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: path.join(t, 'ipam') } }],
      }),
    );
    const cri = 'plugins."io.containerd.grpc.v1.cri"';
    fs.writeFileSync(
      path.join(t, 'config.toml'),
      [
        'version = 2',
        `root = "${t}/root"`,
        `state = "${t}/state"`,
        '[grpc]',
        `  address = "${this.socketPath}"`,
        '[ttrpc]',
        `  address = "${this.socketPath}.ttrpc"`,
        '[metrics]',
        '  address = ""',
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = "${t}/opt"`,
        `[${cri}]`,
        `  sandbox_image = "${PAUSE_IMAGE}"`,
        '  disable_apparmor = true',
        '  restrict_oom_score_adj = true',
        '  netns_mounts_under_state_dir = true',
        `[${cri}.containerd]`,
        '  snapshotter = "overlayfs"',
        '  default_runtime_name = "runc"',
        `[${cri}.containerd.runtimes.runc]`,
        '  runtime_type = "io.containerd.runc.v2"',
        `[${cri}.containerd.runtimes.runc.options]`,
        '  SystemdCgroup = false',
        `  Root = "${t}/runc"`,
        `[${cri}.cni]`,
        '  bin_dir = "/usr/lib/cni"',
        `  conf_dir = "${t}/cni"`,
        '',
      ].join('\n'),
    );
  }

  /** Starts containerd; resolves once its CRI answers Version. */
  async start(): Promise<void> {
    if (this.pid && isAlive(this.pid)) throw new Error('private containerd already running');
    const out = fs.openSync(path.join(this.tmpDir, 'containerd.log'), 'a');
    const child = spawn('containerd', ['--config', path.join(this.tmpDir, 'config.toml')], { stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    child.unref();
    this.pid = child.pid;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!this.pid || !isAlive(this.pid)) throw new Error(`containerd exited:\n${this.logTail()}`);
      if (fs.existsSync(this.socketPath)) {
        try {
          await this.client.call('Version', { version: 'v1' }, 2000);
          return;
        } catch {
          // the CRI plugin is not serving yet
        }
      }
      if (Date.now() > deadline) throw new Error(`containerd did not answer CRI Version within 30 s:\n${this.logTail()}`);
      await sleep(100);
    }
  }

  /** Stops containerd (SIGTERM; the pods' shims keep running, as on a real node). */
  async stop(): Promise<void> {
    const pid = this.pid;
    this.pid = undefined;
    if (!pid || !isAlive(pid)) return;
    process.kill(pid, 'SIGTERM');
    if (!(await waitGone([pid], 10_000))) process.kill(pid, 'SIGKILL');
    await waitGone([pid], 5000);
  }

  logTail(): string {
    try {
      return fs.readFileSync(path.join(this.tmpDir, 'containerd.log'), 'utf8').slice(-4000);
    } catch {
      return '(no log)';
    }
  }

  /** The image: a docker-archive made by hand (one layer: pause, busybox, sockmix), tagged twice. */
  private importImage(): void {
    buildPause();
    const t = path.join(this.tmpDir, 'image');
    const rootfs = path.join(t, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(rootfs, 'tmp'), { mode: 0o1777 });
    fs.mkdirSync(path.join(rootfs, 'etc'));
    fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
    fs.copyFileSync(PAUSE_BIN, path.join(rootfs, 'pause'));
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
    fs.copyFileSync(SOCKMIX_BIN, path.join(rootfs, 'bin', 'sockmix'));
    for (const f of ['pause', 'bin/busybox', 'bin/sockmix']) fs.chmodSync(path.join(rootfs, f), 0o755);
    for (const applet of ['sh', 'sleep', 'cat', 'ls']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
    const archive = path.join(t, 'archive');
    fs.mkdirSync(archive);
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', path.join(archive, 'layer.tar'), '.']);
    const diffId = `sha256:${crypto.createHash('sha256').update(fs.readFileSync(path.join(archive, 'layer.tar'))).digest('hex')}`;
    const config = JSON.stringify({
      architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/pause'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created_by: 'sockpulse test/helpers/private-containerd.ts' }],
    });
    const configName = `${crypto.createHash('sha256').update(config).digest('hex')}.json`;
    fs.writeFileSync(path.join(archive, configName), config);
    fs.writeFileSync(path.join(archive, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [PAUSE_IMAGE, APP_IMAGE], Layers: ['layer.tar'] }]));
    const tar = path.join(t, 'image.tar');
    execFileSync('tar', ['-C', archive, '-cf', tar, '.']);
    const r = spawnSync('ctr', ['-a', this.socketPath, '-n', 'k8s.io', 'images', 'import', tar], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`ctr images import failed: ${r.stderr}${r.stdout}`);
    fs.rmSync(t, { recursive: true, force: true });
  }

  /** Runs a pod sandbox and its containers; resolves once the sandbox is ready and the containers started. */
  async runPod(spec: PodSpec): Promise<Pod> {
    const namespace = spec.namespace ?? 'default';
    const uid = spec.uid ?? crypto.randomUUID();
    const sandboxConfig = {
      metadata: { name: spec.name, uid, namespace, attempt: spec.attempt ?? 0 },
      // hostNetwork pods must have an empty hostname (the runtime refuses one).
      hostname: spec.hostNetwork ? '' : spec.name,
      log_directory: path.join(this.tmpDir, 'logs', uid),
      labels: { ...(spec.labels ?? {}), 'io.kubernetes.pod.name': spec.name, 'io.kubernetes.pod.namespace': namespace, 'io.kubernetes.pod.uid': uid },
      linux: {
        cgroup_parent: `${this.cgroupParent}/pod${uid}`,
        security_context: { namespace_options: { network: spec.hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' } },
        // sockmix uses ::1: IPv6 on in the pod (a pod namespace may start with it off).
        sysctls: spec.hostNetwork ? {} : { 'net.ipv6.conf.all.disable_ipv6': '0', 'net.ipv6.conf.lo.disable_ipv6': '0' },
      },
    };
    fs.mkdirSync(sandboxConfig.log_directory, { recursive: true });
    const { pod_sandbox_id: id } = await this.client.call('RunPodSandbox', { config: sandboxConfig });
    this.pods.add(id);
    const containers: Pod['containers'] = [];
    for (const c of spec.containers ?? []) {
      const command = c.mix ? ['/bin/sockmix', ...mixArgs(c.mix)] : c.command ?? ['/bin/sleep', '3600'];
      const { container_id } = await this.client.call('CreateContainer', {
        pod_sandbox_id: id,
        config: {
          metadata: { name: c.name, attempt: 0 },
          image: { image: APP_IMAGE },
          command,
          log_path: `${c.name}.log`,
          labels: { 'io.kubernetes.container.name': c.name, 'io.kubernetes.pod.name': spec.name, 'io.kubernetes.pod.namespace': namespace, 'io.kubernetes.pod.uid': uid },
          linux: { security_context: { namespace_options: { network: spec.hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
        },
        sandbox_config: sandboxConfig,
      });
      await this.client.call('StartContainer', { container_id });
      containers.push({ id: container_id, name: c.name });
    }
    const st = await this.client.call('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
    const pid = JSON.parse(st.info.info).pid as number;
    return { id, uid, name: spec.name, namespace, containers, pid, ip: st.status.network?.ip ?? '' };
  }

  /** Waits until a sockmix container of the pod printed "ready" in its log. */
  async waitReady(pod: Pod, container: string, ms = 15_000): Promise<void> {
    const log = path.join(this.tmpDir, 'logs', pod.uid, `${container}.log`);
    const deadline = Date.now() + ms;
    for (;;) {
      const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      if (/\bready\b/.test(text)) return;
      if (/error/.test(text) || Date.now() > deadline) throw new Error(`${pod.name}/${container} not ready: ${text.slice(-2000)}`);
      await sleep(50);
    }
  }

  async removePod(id: string): Promise<void> {
    await this.client.call('StopPodSandbox', { pod_sandbox_id: id });
    await this.client.call('RemovePodSandbox', { pod_sandbox_id: id });
    this.pods.delete(id);
  }

  /** Everything gone: pods, containerd, shims, bridge, cgroups, libcni cache, temp dir. */
  async destroy(): Promise<void> {
    if (this.pid && isAlive(this.pid)) {
      for (const id of [...this.pods]) await this.removePod(id).catch(() => undefined);
    }
    await this.stop();
    this.client.close();
    // Shims of pods that could not be removed (containerd was down): kill what runs under our dirs.
    for (const pid of processesMentioning(this.tmpDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    spawnSync('ip', ['link', 'delete', this.bridge], { stdio: 'ignore' });
    removeCgroups(this.cgroupParent);
    const cache = '/var/lib/cni/results';
    if (fs.existsSync(cache)) for (const f of fs.readdirSync(cache)) if (f.startsWith(`${this.network}-`)) fs.rmSync(path.join(cache, f), { force: true });
    // Mounts under the state dir (netns, rootfs) must go before the tree can be removed.
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(this.tmpDir));
    for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

/** What destroy() should have removed and is still there (empty when clean). */
export function leftovers(rt: PrivateContainerd): string[] {
  const out: string[] = [];
  for (const pid of processesMentioning(rt.tmpDir)) out.push(`process ${pid}`);
  if (spawnSync('ip', ['link', 'show', rt.bridge], { stdio: 'ignore' }).status === 0) out.push(`bridge ${rt.bridge}`);
  for (const root of cgroupRoots()) if (fs.existsSync(path.join(root, rt.cgroupParent))) out.push(`cgroup ${path.join(root, rt.cgroupParent)}`);
  if (fs.existsSync(rt.tmpDir)) out.push(rt.tmpDir);
  return out;
}

/** Mount points of the cgroup hierarchies (v1 controllers or the v2 tree). */
export function cgroupRoots(): string[] {
  const roots = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4]);
  return [...new Set(roots)];
}

/** Pids whose command line names a path under `dir` (containerd's shims carry its address). */
function processesMentioning(dir: string): number[] {
  const out: number[] = [];
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(dir)) out.push(Number(n));
    } catch {
      // gone
    }
  }
  return out;
}

/** Removes a cgroup subtree in every mounted hierarchy (v1 and v2), deepest first. */
function removeCgroups(parent: string): void {
  for (const root of cgroupRoots()) {
    const top = path.join(root, parent);
    if (!fs.existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      dirs.push(d);
    };
    walk(top);
    for (const d of dirs) {
      try {
        fs.rmdirSync(d);
      } catch {
        // still holds a process (it will be reported by the caller's leak checks)
      }
    }
  }
}

/** Compiles the static pause (test/fixtures/cri/pause.c) into .build/pause when stale. */
function buildPause(): void {
  if (fs.existsSync(PAUSE_BIN) && fs.statSync(PAUSE_BIN).mtimeMs >= fs.statSync(PAUSE_SRC).mtimeMs) return;
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  execFileSync('gcc', ['-static', '-O2', '-Wall', '-Werror', '-o', `${PAUSE_BIN}.tmp`, PAUSE_SRC]);
  fs.renameSync(`${PAUSE_BIN}.tmp`, PAUSE_BIN);
}
