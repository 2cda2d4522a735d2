// A dockerd of the benchmark's own (as root): state, socket and log under a fresh /tmp/spb-XXXXXX,
// no bridge, no iptables (the host's network is untouched), a busybox image `docker import`ed (no
// registry). stop() removes the containers, stops dockerd, kills whatever still runs from the
// directory, unmounts what it left and deletes the directory.
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Docker from 'dockerode';

export const BENCH_IMAGE = 'sockpulse-bench:latest';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class BenchEngine {
  readonly socketPath: string;
  readonly client: Docker;
  pid = 0;
  private started = 0;

  private constructor(readonly dir: string) {
    this.socketPath = path.join(dir, 'd.sock');
    this.client = new Docker({ socketPath: this.socketPath, timeout: 30_000 });
  }

  static async start(): Promise<BenchEngine> {
    const e = new BenchEngine(fs.mkdtempSync(path.join(os.tmpdir(), 'spb-')));
    fs.writeFileSync(path.join(e.dir, 'daemon.json'), '{}\n');
    const log = fs.openSync(path.join(e.dir, 'dockerd.log'), 'a');
    const d = e.dir;
    const child = spawn('dockerd', ['--config-file', `${d}/daemon.json`, '--iptables=false', '--ip6tables=false', '--bridge=none',
      '--data-root', `${d}/data`, '--exec-root', `${d}/e`, '--pidfile', `${d}/dockerd.pid`, '-H', `unix://${e.socketPath}`], { stdio: ['ignore', log, log], detached: true });
    fs.closeSync(log);
    child.unref();
    e.pid = child.pid ?? 0;
    for (let i = 0; ; i++) {
      try {
        await e.client.ping();
        break;
      } catch {
        if (i > 300) throw new Error(`bench dockerd did not answer; see ${d}/dockerd.log`);
        await sleep(100);
      }
    }
    const rootfs = path.join(d, 'rootfs', 'bin');
    fs.mkdirSync(rootfs, { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'busybox'));
    fs.symlinkSync('busybox', path.join(rootfs, 'sleep'));
    execFileSync('tar', ['-C', path.dirname(rootfs), '-cf', `${d}/rootfs.tar`, '.']);
    const [repo, tag] = BENCH_IMAGE.split(':');
    const stream = await e.client.importImage(`${d}/rootfs.tar`, { repo, tag });
    await new Promise((resolve, reject) => e.client.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve(undefined))));
    return e;
  }

  /** n containers running `sleep`, each in a network namespace of its own (--network none), `conc` at a time. */
  async run(n: number, conc = 4): Promise<string[]> {
    const ids: string[] = [];
    let next = 0;
    const one = async (): Promise<void> => {
      while (next < n) {
        next++;
        const c = await this.client.createContainer({ name: `spb-${this.started++}`, Image: BENCH_IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' } });
        await c.start();
        ids.push(c.id);
      }
    };
    await Promise.all(Array.from({ length: conc }, one));
    return ids;
  }

  /** utime + stime of dockerd, in ms (clock ticks of 10 ms). */
  cpuMs(): number {
    const f = fs.readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  }

  async stop(): Promise<void> {
    try {
      const list = await this.client.listContainers({ all: true });
      for (const c of list) await this.client.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    } catch {
      /* not answering: killed below */
    }
    if (this.pid) process.kill(this.pid, 'SIGTERM');
    for (let i = 0; i < 150 && fs.existsSync(`/proc/${this.pid}`); i++) await sleep(100);
    for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      const cmd = (() => { try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'); } catch { return ''; } })();
      if (cmd.includes(this.dir + '/')) try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    }
    await sleep(500);
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(this.dir + '/'));
    for (const m of mounts.sort((a, b) => b.length - a.length)) try { execFileSync('umount', ['-l', m]); } catch { /* best effort */ }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
