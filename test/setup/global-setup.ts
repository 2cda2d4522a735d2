// Jest global setup of the integration project (jest.config.js; jest runs it only when an
// integration suite is selected): prepare the machine (prepare.sh), start ONE private dockerd for
// the whole run and import the test image.
//
// dockerd --iptables=false --ip6tables=false --bridge=none, everything (data-root, exec-root,
// socket, pidfile, log) under a fresh /tmp/spk-XXXXXX, so it never touches a system engine.
// No registry is reachable: the image is a busybox-static rootfs + /bin/sockmix, `docker import`ed.
// The result is published in a JSON file (see test/helpers/env.ts) that test workers read.
//
// Not root and CI!=='true': nothing is started (the env file says why), suites skip loudly.
// Root or CI=true: any failure throws, so the run fails instead of skipping.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { BUILD_DIR, ENV_FILE, ENV_VAR, REPO_ROOT, TEST_IMAGE, TEST_LABEL, TestEnv, isCI, isRoot } from '../helpers/env';
import { SOCKMIX_BIN } from '../helpers/sockmix';
import { stopDockerd } from './global-teardown';
import { isAlive } from '../helpers/procs';

const PING_TIMEOUT_MS = 30_000;

function writeEnv(env: TestEnv, runFile?: string): void {
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const text = JSON.stringify(env, null, 2) + '\n';
  if (runFile) fs.writeFileSync(runFile, text);
  fs.writeFileSync(ENV_FILE, text);
  process.env[ENV_VAR] = runFile ?? ENV_FILE; // inherited by the workers jest forks next
}

/** A previous run killed before its teardown leaves its dockerd behind: stop it. */
async function cleanStale(): Promise<void> {
  let old: TestEnv;
  try {
    old = JSON.parse(fs.readFileSync(ENV_FILE, 'utf8')) as TestEnv;
  } catch {
    return;
  }
  if (!old.dockerdPid || !old.tmpDir || (old.ownerPid && isAlive(old.ownerPid))) return;
  await stopDockerd(old);
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitForPing(docker: Docker, pid: number, log: string): Promise<void> {
  const deadline = Date.now() + PING_TIMEOUT_MS;
  for (;;) {
    try {
      await docker.ping();
      return;
    } catch {
      /* not up yet */
    }
    const why = !isAlive(pid) ? 'dockerd exited' : Date.now() > deadline ? 'timed out' : '';
    if (why) throw new Error(`private dockerd did not answer /_ping (${why}); log tail:\n${tail(log)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** rootfs = static busybox + applet links + sockmix; tar it; `docker import` it. */
async function importImage(docker: Docker, tmpDir: string): Promise<void> {
  const rootfs = path.join(tmpDir, 'rootfs');
  const bin = path.join(rootfs, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(bin, 'busybox'));
  fs.chmodSync(path.join(bin, 'busybox'), 0o755);
  for (const applet of ['sh', 'sleep', 'cat', 'nc', 'ls', 'echo', 'kill']) {
    fs.symlinkSync('busybox', path.join(bin, applet));
  }
  fs.copyFileSync(SOCKMIX_BIN, path.join(bin, 'sockmix'));
  fs.chmodSync(path.join(bin, 'sockmix'), 0o755);
  const tarFile = path.join(tmpDir, 'rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '-cf', tarFile, '.']);

  const [repo, tag] = TEST_IMAGE.split(':');
  const stream = await docker.importImage(tarFile, { repo, tag });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: Array<{ error?: string }>) => {
        const bad = err?.message ?? events.find((e) => e.error)?.error;
        if (bad) reject(new Error(`docker import failed: ${bad}`));
        else resolve();
      },
    );
  });
  await docker.getImage(TEST_IMAGE).inspect(); // throws if the import did not produce it
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.rmSync(tarFile, { force: true });
}

export default async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  if (!isRoot) {
    if (isCI) throw new Error('CI=true but not root: integration tests need root and must not be skipped');
    console.warn(`\n${'#'.repeat(78)}\n# NOT ROOT: no private dockerd; root-only integration suites will be SKIPPED\n${'#'.repeat(78)}`);
    writeEnv({ skipped: 'not root', ownerPid: process.pid });
    return;
  }
  // Installs what is missing and (re)builds .build/sockmix; fast when all is present.
  execFileSync('bash', [path.join(REPO_ROOT, 'test/setup/prepare.sh')], { stdio: 'inherit' });
  await cleanStale();

  // Short paths: containerd/shim unix sockets live under the exec-root (108-byte limit).
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-'));
  const socketPath = path.join(tmpDir, 'd.sock');
  const log = path.join(tmpDir, 'dockerd.log');
  const config = path.join(tmpDir, 'daemon.json');
  fs.writeFileSync(config, '{}\n'); // ignore any /etc/docker/daemon.json
  const out = fs.openSync(log, 'a');
  const child = spawn(
    'dockerd',
    [
      '--config-file', config,
      '--iptables=false', '--ip6tables=false', '--bridge=none',
      '--data-root', path.join(tmpDir, 'data'),
      '--exec-root', path.join(tmpDir, 'e'),
      '--pidfile', path.join(tmpDir, 'dockerd.pid'),
      '-H', `unix://${socketPath}`,
    ],
    { stdio: ['ignore', out, out], detached: true },
  );
  fs.closeSync(out);
  child.unref(); // jest must not wait for it; teardown stops it by pid
  const env: TestEnv = { dockerdPid: child.pid, tmpDir, ownerPid: process.pid };
  const runFile = path.join(tmpDir, 'test-env.json');
  writeEnv(env, runFile); // recorded at once, so a crashed run can be cleaned up next time

  try {
    if (!child.pid) throw new Error('could not spawn dockerd');
    const docker = new Docker({ socketPath });
    await waitForPing(docker, child.pid, log);
    await importImage(docker, tmpDir);
  } catch (err) {
    await stopDockerd(env).catch(() => undefined);
    throw err;
  }
  writeEnv({ ...env, docker: { socketPath, image: TEST_IMAGE } }, runFile);
  console.log(`\nglobal-setup: private dockerd pid ${child.pid} at ${socketPath}, image ${TEST_IMAGE} (label ${TEST_LABEL}) in ${Date.now() - t0} ms`);
}
