// A test "node": one network namespace routing between "pod" namespaces over veth pairs, with
// conntrack accounting on and an nftables rule set that makes conntrack track (and counts each
// direction independently, to check conntrack's numbers against). Named namespaces
// (`ip netns add`), each held by a `sleep` whose pid reads its /proc/<pid>/net files; traffic
// peers are node processes (test/fixtures/flows/peer.js) started with `ip netns exec`.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const PEER = path.join(__dirname, '..', 'fixtures', 'flows', 'peer.js');

const run = (...args: string[]): string => execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export interface Peer {
  cmd(c: Record<string, unknown>): Promise<Record<string, number>>;
}

export interface Ns {
  name: string;
  /** A process in the namespace (a sleep). */
  pid: number;
  netns: number;
}

export class FlowNode {
  readonly ns = new Map<string, Ns>();
  private readonly children: ChildProcess[] = [];
  private seq = 0;

  constructor(private readonly prefix = `spf${process.pid}`) {}

  nsName(short: string): string {
    return `${this.prefix}-${short}`;
  }

  /**
   * node: forwarding, acct on; each pod: eth0 with `addr`/24, default route via the node's `.1`,
   * TCP timestamps off (fixed 20-byte TCP headers after the handshake).
   */
  async build(pods: Record<string, string>): Promise<void> {
    await this.add('node');
    const node = this.nsName('node');
    run('ip', 'netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.netfilter.nf_conntrack_acct=1');
    run('ip', '-n', node, 'link', 'set', 'lo', 'up');
    let i = 0;
    for (const [short, addr] of Object.entries(pods)) {
      const ns = this.nsName(short);
      await this.add(short);
      const gw = addr.replace(/\.\d+$/, '.1');
      const veth = `v${i++}`;
      run('ip', '-n', node, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      run('ip', '-n', node, 'addr', 'add', `${gw}/24`, 'dev', veth);
      run('ip', '-n', node, 'link', 'set', veth, 'up');
      run('ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      run('ip', '-n', ns, 'route', 'add', 'default', 'via', gw);
      run('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.tcp_timestamps=0');
    }
  }

  /** nftables in the node namespace: `rules` (with `counter comment "…"`) then `ct state established,related accept`. */
  nft(rules: string[]): void {
    const text = ['table inet spflows {', '  chain forwarded {', '    type filter hook forward priority 0; policy accept;', ...rules.map((r) => `    ${r}`),
      '    ct state established,related accept', '  }', '}', ''].join('\n');
    execFileSync('ip', ['netns', 'exec', this.nsName('node'), 'nft', '-f', '-'], { input: text });
  }

  /** comment → {packets, bytes} of the node's counters. */
  counters(): Map<string, { packets: number; bytes: number }> {
    const doc = JSON.parse(run('ip', 'netns', 'exec', this.nsName('node'), 'nft', '-j', 'list', 'table', 'inet', 'spflows')) as { nftables: { rule?: { comment?: string; expr: { counter?: { packets: number; bytes: number } }[] } }[] };
    const out = new Map<string, { packets: number; bytes: number }>();
    for (const o of doc.nftables) {
      const c = o.rule?.expr.find((e) => e.counter)?.counter;
      if (o.rule?.comment && c) out.set(o.rule.comment, { packets: c.packets, bytes: c.bytes });
    }
    return out;
  }

  async peer(short: string): Promise<Peer> {
    const child = spawn('ip', ['netns', 'exec', this.nsName(short), process.execPath, PEER], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.children.push(child);
    const pending = new Map<number, (v: Record<string, number>) => void>();
    let ready: () => void;
    const up = new Promise<void>((r) => (ready = r));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { id?: number; ready?: boolean };
      if (m.ready) ready();
      else if (m.id !== undefined) pending.get(m.id)?.(m as Record<string, number>);
    });
    await up;
    return {
      cmd: (c) =>
        new Promise((resolve, reject) => {
          const id = ++this.seq;
          const timer = setTimeout(() => reject(new Error(`peer ${short}: no answer to ${JSON.stringify(c)}`)), 10_000);
          pending.set(id, (v) => {
            clearTimeout(timer);
            resolve(v);
          });
          child.stdin!.write(`${JSON.stringify({ ...c, id })}\n`);
        }),
    };
  }

  /** Stops every process this node started and deletes its namespaces. */
  async destroy(): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await new Promise((r) => c.once('exit', r));
      }
    }
    for (const name of this.ns.keys()) {
      try {
        run('ip', 'netns', 'del', this.nsName(name));
      } catch {
        /* already gone */
      }
    }
  }

  private async add(short: string): Promise<void> {
    const name = this.nsName(short);
    run('ip', 'netns', 'add', name);
    const child = spawn('ip', ['netns', 'exec', name, 'sleep', '3600'], { stdio: 'ignore' });
    this.children.push(child);
    // `ip netns exec` execs the command: the sleep has the child's pid once it runs in the namespace.
    const want = fs.statSync(`/run/netns/${name}`).ino;
    for (let i = 0; i < 200; i++) {
      try {
        if (fs.statSync(`/proc/${child.pid}/ns/net`).ino === want && fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep') break;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    this.ns.set(short, { name, pid: child.pid!, netns: want });
  }
}
