// A dockerd of one suite's own, that the suite may stop and start at will (the shared engine of
// test/setup/global-setup.ts must never be stopped mid-run: other suites use it).
//
// Same isolation as global-setup (copied, not shared: that file stays as it is): no iptables, no
// bridge, data-root / exec-root / socket / pidfile / log under a fresh /tmp/spe-XXXXXX.
// `--live-restore`, so containers outlive a stopped engine and are picked up again when it
// restarts on the same data-root and socket (what a `systemctl restart docker` does on a host
// configured that way). The image is the same busybox + sockmix rootfs, `docker import`ed.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { TEST_IMAGE, TEST_LABEL } from './paths';
import { Mix, SOCKMIX_BIN, SOCKMIX_IN_IMAGE, mixArgs } from './sockmix';
import { cmdline, isAlive, waitGone } from './procs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PrivateEngine {
  readonly socketPath: string;
  readonly client: Docker;
  private pid: number | undefined;
  private readonly log: string;

  private constructor(readonly tmpDir: string) {
    this.socketPath = path.join(tmpDir, 'd.sock');
    this.log = path.join(tmpDir, 'dockerd.log');
    this.client = new Docker({ socketPath: this.socketPath, timeout: 20_000 });
  }

  /** A fresh engine with the test image imported. */
  static async create(): Promise<PrivateEngine> {
    const e = new PrivateEngine(fs.mkdtempSync(path.join(os.tmpdir(), 'spe-')));
    try {
      fs.writeFileSync(path.join(e.tmpDir, 'daemon.json'), '{}\n'); // ignore /etc/docker/daemon.json
      await e.start();
      await e.importImage();
    } catch (err) {
      await e.destroy().catch(() => undefined);
      throw err;
    }
    return e;
  }

  get dockerdPid(): number | undefined {
    return this.pid;
  }

  /** Starts dockerd (again) on the same dirs and socket; resolves once /_ping answers. */
  async start(): Promise<void> {
    if (this.pid && isAlive(this.pid)) throw new Error('private dockerd already running');
    const out = fs.openSync(this.log, 'a');
    const t = this.tmpDir;
    const child = spawn(
      'dockerd',
      [
        '--config-file', path.join(t, 'daemon.json'),
        '--iptables=false', '--ip6tables=false', '--bridge=none', '--live-restore',
        '--data-root', path.join(t, 'data'),
        '--exec-root', path.join(t, 'e'),
        '--pidfile', path.join(t, 'dockerd.pid'),
        '-H', `unix://${this.socketPath}`,
      ],
      { stdio: ['ignore', out, out], detached: true },
    );
    fs.closeSync(out);
    child.unref();
    if (!child.pid) throw new Error('could not spawn dockerd');
    this.pid = child.pid;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await this.client.ping();
        return;
      } catch {
        /* not up yet */
      }
      const why = !isAlive(child.pid) ? 'dockerd exited' : Date.now() > deadline ? 'timed out' : '';
      if (why) throw new Error(`private dockerd did not answer /_ping (${why}); log tail:\n${this.logTail()}`);
      await sleep(100);
    }
  }

  /** SIGTERM dockerd and wait for it to exit (containers keep running: --live-restore). */
  async stop(): Promise<void> {
    const pid = this.pid;
    if (!pid || !isAlive(pid)) return;
    process.kill(pid, 'SIGTERM');
    if (!(await waitGone([pid], 15_000))) throw new Error(`private dockerd ${pid} ignored SIGTERM for 15 s`);
    this.pid = undefined;
  }

  logTail(lines = 40): string {
    try {
      return fs.readFileSync(this.log, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private async importImage(): Promise<void> {
    const rootfs = path.join(this.tmpDir, 'rootfs');
    const bin = path.join(rootfs, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(bin, 'busybox'));
    fs.chmodSync(path.join(bin, 'busybox'), 0o755);
    for (const applet of ['sh', 'sleep', 'cat', 'nc', 'ls', 'echo', 'kill']) fs.symlinkSync('busybox', path.join(bin, applet));
    fs.copyFileSync(SOCKMIX_BIN, path.join(bin, 'sockmix'));
    fs.chmodSync(path.join(bin, 'sockmix'), 0o755);
    const tarFile = path.join(this.tmpDir, 'rootfs.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tarFile, '.']);
    const [repo, tag] = TEST_IMAGE.split(':');
    const stream = await this.client.importImage(tarFile, { repo, tag });
    await new Promise<void>((resolve, reject) => {
      this.client.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string }>) => {
        const bad = err?.message ?? events.find((ev) => ev.error)?.error;
        if (bad) reject(new Error(`docker import failed: ${bad}`));
        else resolve();
      });
    });
    await this.client.getImage(TEST_IMAGE).inspect();
    fs.rmSync(rootfs, { recursive: true, force: true });
    fs.rmSync(tarFile, { force: true });
  }

  /** A sockmix container (--network none, own namespace); resolves after its "ready" line. */
  async runSockmix(mix: Mix, name: string): Promise<{ id: string; name: string; pid: number }> {
    const c = await this.client.createContainer({
      name,
      Image: TEST_IMAGE,
      Cmd: [SOCKMIX_IN_IMAGE, ...mixArgs(mix)],
      Labels: { [TEST_LABEL]: '1' },
      HostConfig: { NetworkMode: 'none', AutoRemove: false },
    });
    await c.start();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const log = (await c.logs({ stdout: true, stderr: true, follow: false })).toString('latin1');
      if (/\bready \d+/.test(log)) break;
      const st = (await c.inspect()).State;
      if (/error:/.test(log) || !st.Running || Date.now() > deadline) {
        throw new Error(`sockmix container not ready (${st.Status}): ${log.replace(/[\0-\x08]/g, '').trim()}`);
      }
      await sleep(50);
    }
    const info = await c.inspect();
    return { id: c.id, name, pid: info.State.Pid };
  }

  /** Everything away: containers, dockerd, containerd and shims, mounts (nsfs included), the dir. */
  async destroy(): Promise<void> {
    const t = this.tmpDir;
    if (!t.startsWith('/tmp/spe-')) return;
    if (this.pid && isAlive(this.pid)) {
      try {
        const list = await this.client.listContainers({ all: true });
        await Promise.all(list.map((c) => this.client.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
      } catch {
        /* engine not answering: the shims are killed below */
      }
      process.kill(this.pid, 'SIGTERM');
      await waitGone([this.pid], 15_000);
    }
    // Whatever still runs from our dir (dockerd after a timeout, containerd, shims, and with
    // --live-restore and the engine stopped, the containers' shims): SIGKILL, by pid.
    const left = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter((p) => p !== process.pid && cmdline(p).includes(t + '/'));
    for (const p of left) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await waitGone(left, 5_000);
    // dockerd leaves <exec-root>/netns/default (nsfs) mounted, overlays and shm may remain too.
    for (const m of PrivateEngine.mountsUnder(t)) {
      try {
        execFileSync('umount', ['-l', m], { stdio: 'ignore' });
      } catch {
        /* best effort; checked by the caller through mountsUnder() */
      }
    }
    fs.rmSync(t, { recursive: true, force: true });
  }

  /** Mount points under dir, deepest first. */
  static mountsUnder(dir: string): string[] {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m && m.startsWith(dir + '/'))
      .sort((a, b) => b.length - a.length);
  }
}
