// The sockpulse container image (deploy/docker/Dockerfile) on the private test engine.
//
// No registry is reachable, so the base image is made here: a root filesystem holding the
// host's own Node 20 (/usr/bin/node, stripped, installed as /usr/local/bin/node like the
// official node images), the shared libraries `ldd` lists for it, /etc/passwd and /etc/group
// (root + an unprivileged `sockpulse` 10001), the CA bundle and /tmp, `docker import`ed as
// sockpulse-base:local. Then the image is built with the docker CLI (which applies .dockerignore),
// BuildKit when the CLI has it (else the classic builder) and `--network none`. Both happen once per engine, i.e. once per jest run.
import { SpawnSyncReturns, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, dockerEnv } from './env';

export const BASE_IMAGE = 'sockpulse-base:local';
export const AGENT_IMAGE = 'sockpulse:test';
export const DOCKERFILE = path.join(REPO_ROOT, 'deploy', 'docker', 'Dockerfile');
/** The unprivileged user the base rootfs defines (not the image's default: see the README). */
export const APP_UID = 10001;

export interface AgentImage {
  tag: string;
  id: string;
  /** Bytes, as `docker image inspect` reports (the uncompressed layers). */
  size: number;
  /** Milliseconds this run spent making the base and building; 0 when reused. */
  baseMs: number;
  buildMs: number;
  /** Which CLI and builder made it. */
  builtWith: string;
}

function socketPath(): string {
  const env = dockerEnv();
  if (!env) throw new Error('no private Docker engine (suite should have been skipped)');
  return env.socketPath;
}

function cli(bin: string, args: string[], timeoutMs: number, buildkit = false): SpawnSyncReturns<string> {
  return spawnSync(bin, ['-H', `unix://${socketPath()}`, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_BUILDKIT: buildkit ? '1' : '0', DOCKER_CLI_HINTS: 'false' },
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The docker CLI (first on PATH) against the private engine. */
export function dockerCli(args: string[], timeoutMs = 60_000): SpawnSyncReturns<string> {
  return cli('docker', args, timeoutMs);
}

/**
 * A CLI that can build with BuildKit (the engine's built-in one): a CLI with the buildx plugin,
 * or a 20.10 CLI (BuildKit client built in; Debian's docker.io). BuildKit builds this image in
 * ~10 s; the classic builder, which hashes and copies node_modules' ~20 000 files file by file
 * (context upload, COPY, COPY --from), takes ~40 s here. Classic is the fallback.
 */
function builder(): { bin: string; buildkit: boolean } {
  for (const bin of ['docker', '/usr/bin/docker']) {
    if (spawnSync(bin, ['buildx', 'version'], { encoding: 'utf8' }).status === 0) return { bin, buildkit: true };
    const v = spawnSync(bin, ['version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    const major = parseInt(v, 10);
    if (major >= 18 && major < 23) return { bin, buildkit: true };
  }
  return { bin: 'docker', buildkit: false };
}

function mustCli(args: string[], timeoutMs = 60_000, bin = 'docker', buildkit = false): string {
  const r = cli(bin, args, timeoutMs, buildkit);
  if (r.status !== 0) {
    throw new Error(`docker ${args.slice(0, 2).join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  }
  return r.stdout;
}

/** Paths ldd lists for a binary (the loader included). */
function sharedLibraries(bin: string): string[] {
  const out = execFileSync('ldd', [bin], { encoding: 'utf8' });
  return [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]);
}

/** Where a host path goes in a merged-/usr rootfs (/lib and /lib64 are links to /usr/…). */
function usrMerged(p: string): string {
  return /^\/lib(64)?\//.test(p) ? `/usr${p}` : p;
}

function hasStrip(): boolean {
  return spawnSync('strip', ['--version']).status === 0;
}

/** Build the base root filesystem in `dir` (which must not exist yet). */
export function makeBaseRootfs(dir: string, node = fs.realpathSync('/usr/bin/node')): void {
  const at = (p: string) => path.join(dir, p);
  for (const d of ['usr/local/bin', 'usr/bin', 'usr/lib64', 'etc/ssl/certs', 'tmp', 'app']) {
    fs.mkdirSync(at(d), { recursive: true });
  }
  fs.chmodSync(at('tmp'), 0o1777);
  fs.symlinkSync('usr/lib', at('lib'));
  fs.symlinkSync('usr/lib64', at('lib64'));
  fs.symlinkSync('usr/bin', at('bin'));

  // Node 20 itself; the distribution's binary carries ~12 MB of debug info.
  const nodeDst = at('usr/local/bin/node');
  if (hasStrip()) execFileSync('strip', ['-o', nodeDst, node]);
  else fs.copyFileSync(node, nodeDst);
  fs.chmodSync(nodeDst, 0o755);
  for (const lib of sharedLibraries(node)) {
    const dst = at(usrMerged(lib));
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(fs.realpathSync(lib), dst);
    fs.chmodSync(dst, 0o755);
  }

  fs.writeFileSync(at('etc/passwd'), `root:x:0:0:root:/root:/sbin/nologin\nsockpulse:x:${APP_UID}:${APP_UID}:sockpulse:/nonexistent:/sbin/nologin\n`);
  fs.writeFileSync(at('etc/group'), `root:x:0:\nsockpulse:x:${APP_UID}:\n`);
  fs.writeFileSync(at('etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  const ca = '/etc/ssl/certs/ca-certificates.crt';
  if (fs.existsSync(ca)) fs.copyFileSync(ca, at(ca));
}

async function imageExists(tag: string): Promise<boolean> {
  return dockerCli(['image', 'inspect', tag]).status === 0;
}

/** Make and import sockpulse-base:local (unless this engine has it already). */
export async function ensureBaseImage(): Promise<number> {
  if (await imageExists(BASE_IMAGE)) return 0;
  const t0 = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-base-'));
  try {
    const rootfs = path.join(tmp, 'rootfs');
    makeBaseRootfs(rootfs);
    const tarFile = path.join(tmp, 'rootfs.tar');
    execFileSync('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '-cf', tarFile, '.']);
    mustCli(['import', '--message', 'sockpulse base: host node 20 + its libraries', tarFile, BASE_IMAGE]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return Date.now() - t0;
}

let cached: Promise<AgentImage> | undefined;

/** The image built from deploy/docker/Dockerfile on BASE_IMAGE, once per engine (= per run). */
export function ensureAgentImage(): Promise<AgentImage> {
  cached ??= (async () => {
    if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'src', 'main.js'))) {
      throw new Error('dist/src/main.js missing: run `npm run build` before the image tests');
    }
    const baseMs = await ensureBaseImage();
    let buildMs = 0;
    let builtWith = 'reused';
    if (!(await imageExists(AGENT_IMAGE))) {
      const t0 = Date.now();
      const b = builder();
      mustCli(
        ['build', ...(b.buildkit ? ['--progress', 'plain'] : []), '--network', 'none', '--build-arg', `BASE=${BASE_IMAGE}`, '-f', DOCKERFILE, '-t', AGENT_IMAGE, REPO_ROOT],
        180_000, b.bin, b.buildkit,
      );
      builtWith = `${b.bin}, ${b.buildkit ? 'BuildKit' : 'classic builder'}`;
      buildMs = Date.now() - t0;
    }
    const [info] = JSON.parse(mustCli(['image', 'inspect', AGENT_IMAGE])) as Array<{ Id: string; Size: number }>;
    return { tag: AGENT_IMAGE, id: info.Id, size: info.Size, baseMs, buildMs, builtWith };
  })();
  return cached;
}
