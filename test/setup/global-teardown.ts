// Jest global teardown: remove every container of the private engine, stop the private
// dockerd (SIGTERM, SIGKILL after 10 s), remove its temp dir. Also used by global-setup to
// clean up after a run that was killed before its teardown.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { ENV_FILE, ENV_VAR, TestEnv } from '../helpers/env';
import { cmdline, isAlive, processesUnder, waitGone } from '../helpers/procs';

const STOP_TIMEOUT_MS = 10_000;


export async function stopDockerd(env: TestEnv): Promise<void> {
  const { dockerdPid, tmpDir } = env;
  if (!tmpDir || !tmpDir.startsWith('/tmp/')) return;
  const socketPath = env.docker?.socketPath ?? path.join(tmpDir, 'd.sock');
  const ours = dockerdPid !== undefined && isAlive(dockerdPid) && cmdline(dockerdPid).includes(tmpDir + '/');

  if (ours && fs.existsSync(socketPath)) {
    // Containers first, so dockerd stops fast and no shim outlives it.
    try {
      const docker = new Docker({ socketPath, timeout: 20_000 });
      const list = await docker.listContainers({ all: true });
      await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    } catch (err) {
      console.warn(`global-teardown: could not remove containers: ${(err as Error).message}`);
    }
  }
  if (ours) {
    process.kill(dockerdPid, 'SIGTERM');
    if (!(await waitGone([dockerdPid], STOP_TIMEOUT_MS))) {
      console.warn(`global-teardown: dockerd ${dockerdPid} ignored SIGTERM for 10 s: SIGKILL`);
    }
  }
  // Whatever is left that runs from our temp dir (dockerd after a timeout, an orphaned
  // containerd or shim): SIGKILL, by pid.
  const left = processesUnder(tmpDir);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await waitGone(left, 5_000);

  // A dockerd that died uncleanly leaves overlay/shm mounts behind: unmount, deepest first.
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && m.startsWith(tmpDir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      /* best effort */
    }
  }
  try {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  } catch (err) {
    console.warn(`global-teardown: could not remove ${tmpDir}: ${(err as Error).message}`);
  }
}

export default async function globalTeardown(): Promise<void> {
  const file = process.env[ENV_VAR] || ENV_FILE;
  let env: TestEnv;
  try {
    env = JSON.parse(fs.readFileSync(file, 'utf8')) as TestEnv;
  } catch {
    return; // setup started nothing
  }
  if (env.ownerPid !== process.pid) return; // not ours (another run wrote the fixed-path file)
  const t0 = Date.now();
  await stopDockerd(env);
  if (env.dockerdPid) console.log(`global-teardown: private dockerd stopped, temp dir removed in ${Date.now() - t0} ms`);
  if (fs.existsSync(ENV_FILE)) {
    // Leave the fixed-path file only if another run has taken it over since.
    const cur = JSON.parse(fs.readFileSync(ENV_FILE, 'utf8')) as TestEnv;
    if (cur.ownerPid === process.pid) fs.rmSync(ENV_FILE, { force: true });
  }
}
