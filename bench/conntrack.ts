// `npm run bench:conntrack`: what the flows collector costs per cycle at N conntrack entries.
//   parse   parseConntrack over generated text in the kernel's format (a realistic mix: IPv4 TCP
//           and UDP, some IPv6, pods on this node talking to other pods, nodes and the internet)
//   cycle   FlowsCollector.plan over a temporary /proc tree holding that table: read, parse,
//           per-connection deltas, attribution to 200 pods, classes, totals. `steady-moving`:
//           every connection's counters grew since the last read; `steady-idle`: none did.
// With --kernel (root), also the kernel's own cost: N real UDP connections made in a private
// network namespace with accounting on, and the time to read its /proc/<pid>/net/nf_conntrack.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawn } from 'child_process';
import { parseArgs } from 'util';
import { parseConntrack } from '../src/procfs/nf-conntrack';
import { ProcReader } from '../src/procfs/read';
import { FlowsCollector } from '../src/collect/flows/collector';
import { Target } from '../src/core/model';

const USAGE = 'Usage: npm run bench:conntrack -- [--entries 10000,100000] [--runs 15] [--kernel]\n';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall and CPU (user + system) milliseconds of fn: on a shared machine CPU time is the steadier figure. */
function timed(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}
const ms = (x: number): string => x.toFixed(1);

function table(n: number, grow: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const pod = `10.244.1.${(i % 200) + 2}`;
    const peer = i % 5 === 0 ? `10.244.${(i % 50) + 2}.${(i % 250) + 1}` : i % 5 === 1 ? `52.218.${i % 128}.${i % 250}` : `10.0.${i % 16}.${i % 250}`;
    const sport = 32768 + (i % 28000);
    const dport = [443, 80, 5432, 6379, 53][i % 5];
    const ob = 1000 + i + grow;
    const rb = 5000 + 3 * i + grow;
    if (i % 10 === 9) {
      const a = `fd00:0000:0000:0001:0000:0000:0000:${(i % 200).toString(16).padStart(4, '0')}`;
      const b = `2001:0db8:0000:0000:0000:0000:${(i >> 16).toString(16).padStart(4, '0')}:${(i & 0xffff).toString(16).padStart(4, '0')}`;
      lines.push(`ipv6     10 tcp      6 431999 ESTABLISHED src=${a} dst=${b} sport=${sport} dport=${dport} packets=${10 + grow} bytes=${ob} src=${b} dst=${a} sport=${dport} dport=${sport} packets=${12 + grow} bytes=${rb} [ASSURED] mark=0 zone=0 use=2`);
    } else if (i % 4 === 3) {
      lines.push(`ipv4     2 udp      17 29 src=${pod} dst=${peer} sport=${sport} dport=53 packets=${1 + grow} bytes=${ob} src=${peer} dst=${pod} sport=53 dport=${sport} packets=${1 + grow} bytes=${rb} mark=0 zone=0 use=2`);
    } else {
      lines.push(`ipv4     2 tcp      6 86399 ESTABLISHED src=${pod} dst=${peer} sport=${sport} dport=${dport} packets=${10 + grow} bytes=${ob} src=${peer} dst=${pod} sport=${dport} dport=${sport} packets=${12 + grow} bytes=${rb} [ASSURED] mark=0 zone=0 use=2`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function benchParse(n: number, runs: number): void {
  const text = table(n, 0);
  const wall: number[] = [];
  const cpu: number[] = [];
  let sum = 0;
  for (let r = 0; r < runs; r++) {
    const t = timed(() => parseConntrack(text, (e) => (sum += e.origBytes)));
    wall.push(t.wall);
    cpu.push(t.cpu);
  }
  console.log(`parse        ${String(n).padStart(7)} entries  ${(text.length / 1e6).toFixed(1)} MB text  median wall ${ms(median(wall))} ms, cpu ${ms(median(cpu))} ms  (${ms((median(cpu) * 1e6) / n)} ns cpu/entry)`);
  if (sum < 0) console.log(sum);
}

function benchCycle(n: number, runs: number): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-ct-'));
  try {
    fs.mkdirSync(path.join(root, '1', 'net'), { recursive: true });
    fs.mkdirSync(path.join(root, 'self', 'ns'), { recursive: true });
    fs.writeFileSync(path.join(root, 'self', 'ns', 'net'), '');
    const host: Target = { netns: 1, pid: 1, pidStart: 1, scope: 'host', containers: [], labels: {} };
    const pods: Target[] = Array.from({ length: 200 }, (_, i) => ({ netns: 100 + i, pid: 100 + i, pidStart: 1, scope: 'container', containers: [], labels: { pod: `p${i}` }, ips: [`10.244.1.${i + 2}`, `fd00::1:0:0:0:${i.toString(16)}`] }));
    const targets = [host, ...pods];
    const c = new FlowsCollector({
      firstRead: 'baseline', zone: 'a', region: 'r', clusterCidrs: ['10.244.0.0/16'], nodeAddresses: ['10.0.0.0/20'],
      zonePrefixes: { a: ['10.0.0.0/22'], b: ['10.0.4.0/22'] }, regionPrefixes: {}, cloudServicePrefixes: { s3: ['52.218.0.0/17'] }, flagPrefixes: {},
    });
    const file = path.join(root, '1', 'net', 'nf_conntrack');
    const texts = [table(n, 0), table(n, 1)];
    fs.writeFileSync(file, texts[0]);
    c.plan(targets, undefined, root); // first read: baseline
    const moving: { wall: number; cpu: number }[] = [];
    const idle: { wall: number; cpu: number }[] = [];
    for (let r = 0; r < runs; r++) {
      fs.writeFileSync(file, texts[(r + 1) % 2]); // counters alternate: every connection moves (or is reused)
      moving.push(timed(() => c.plan(targets, undefined, root)));
      idle.push(timed(() => c.plan(targets, undefined, root))); // same text again: nothing moved
    }
    const mem = process.memoryUsage();
    const f = (xs: { wall: number; cpu: number }[]): string => `wall ${ms(median(xs.map((x) => x.wall)))} ms, cpu ${ms(median(xs.map((x) => x.cpu)))} ms`;
    console.log(`cycle        ${String(n).padStart(7)} entries  steady-moving ${f(moving)}  steady-idle ${f(idle)}  heapUsed ${(mem.heapUsed / 1e6).toFixed(0)} MB  rss ${(mem.rss / 1e6).toFixed(0)} MB`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** N real UDP connections in a private namespace; the time to read its conntrack table. */
async function benchKernel(n: number, runs: number): Promise<void> {
  const ns = `spbench${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const sleeper = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], { stdio: 'ignore' });
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.netfilter.nf_conntrack_acct=1']);
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: 'table inet spbench {\n chain out_chain {\n  type filter hook output priority 0;\n  ct state new accept\n }\n}\n' });
    // n datagrams from one socket to n different ports: n tracked connections (UNREPLIED, 30 s).
    const script = `const s=require('dgram').createSocket('udp4');let i=0;const b=Buffer.alloc(8);s.bind(0,()=>{const f=()=>{if(i>=${n})return s.close();const p=1024+(i%60000),h='127.0.'+(1+Math.floor(i/60000))+'.1';i++;s.send(b,p,h,f)};f()})`;
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script]);
    await new Promise((r) => setTimeout(r, 200));
    const reader = new ProcReader(64 * 1024);
    const times: { wall: number; cpu: number }[] = [];
    let entries = 0;
    for (let r = 0; r < runs; r++) {
      let text = '';
      times.push(timed(() => (text = reader.read(`/proc/${sleeper.pid}/net/nf_conntrack`))));
      entries = parseConntrack(text, () => undefined).entries;
    }
    const buckets = fs.readFileSync('/proc/sys/net/netfilter/nf_conntrack_buckets', 'latin1').trim();
    console.log(`kernel read  ${String(entries).padStart(7)} entries (asked ${n}, buckets ${buckets})  median wall ${ms(median(times.map((x) => x.wall)))} ms, cpu ${ms(median(times.map((x) => x.cpu)))} ms`);
  } finally {
    sleeper.kill('SIGKILL');
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { entries: { type: 'string', default: '10000,100000' }, runs: { type: 'string', default: '15' }, kernel: { type: 'boolean', default: false }, help: { type: 'boolean' } } });
  if (values.help) return void process.stdout.write(USAGE);
  const sizes = values.entries!.split(',').map(Number);
  const runs = Number(values.runs);
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}, kernel ${os.release()}`);
  for (const n of sizes) benchParse(n, runs);
  for (const n of sizes) benchCycle(n, Math.max(3, Math.floor(runs / 3)));
  if (values.kernel) for (const n of sizes) await benchKernel(n, 5);
}

void main();
