// Real StatsD on 127.0.0.1 for the sink tests: the reference daemon from npm (statsd@0.9.0, run as
// `node node_modules/statsd/stats.js <config.js>`) with its management console, and raw capture
// servers (UDP, TCP, unix datagram) for exact-bytes assertions. Every port is a free one.
import { ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './env';

const HOST = '127.0.0.1';
const STATS_JS = path.join(REPO_ROOT, 'node_modules', 'statsd', 'stats.js');

/** A port that was free a moment ago (statsd cannot bind port 0 and say which it got). */
export async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  if (kind === 'tcp') {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, HOST, r));
    const { port } = srv.address() as net.AddressInfo;
    await new Promise((r) => srv.close(r));
    return port;
  }
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, HOST, r));
  const { port } = sock.address();
  await new Promise<void>((r) => sock.close(r));
  return port;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One management-console command; the answer up to its "END" line. */
export function mgmt(port: number, cmd: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, HOST);
    let buf = '';
    const t = setTimeout(() => fail(new Error(`mgmt ${cmd}: no END within ${timeoutMs} ms: ${buf}`)), timeoutMs);
    function fail(err: Error): void {
      clearTimeout(t);
      s.destroy();
      reject(err);
    }
    s.setEncoding('utf8');
    s.on('error', fail);
    s.on('data', (d: string) => {
      buf += d;
      if (buf.includes('END\n\n') || (cmd.startsWith('health') && buf.endsWith('\n'))) {
        clearTimeout(t);
        s.end();
        resolve(buf.replace(/END\n\n$/, ''));
      }
    });
    s.write(`${cmd}\n`);
  });
}

/** The console prints `util.inspect(object)`: `{ 'name;k=v': 3, ... }`. */
export function parseInspect(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = /(?:'((?:[^'\\]|\\.)*)'|([A-Za-z_$][\w$]*)): (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|Infinity)|NaN)/g;
  for (const m of text.matchAll(re)) out[(m[1] ?? m[2]).replace(/\\'/g, "'")] = Number(m[3]);
  return out;
}

export interface StatsdDaemon {
  host: string;
  udpPort: number;
  /** TCP server port (`servers: [{ server: './servers/tcp' }]`), when asked for. */
  tcpPort?: number;
  mgmtPort: number;
  gauges(): Promise<Record<string, number>>;
  counters(): Promise<Record<string, number>>;
  /** What the daemon printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the daemon with a flush interval long enough that nothing is flushed (counters keep
 * accumulating) and no backend. Ready once a UDP probe shows up in its own packet counter.
 */
export async function startStatsd(opts: { tcp?: boolean } = {}): Promise<StatsdDaemon> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await tryStart(opts);
    } catch (err) {
      if (attempt >= 4) throw err; // a port taken between freePort() and the daemon's bind
    }
  }
}

async function tryStart(opts: { tcp?: boolean }): Promise<StatsdDaemon> {
  const [udpPort, mgmtPort, tcpPort] = [await freePort('udp'), await freePort('tcp'), opts.tcp ? await freePort('tcp') : undefined];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-statsd-'));
  const conf = path.join(dir, 'config.js');
  const servers = [`{ server: './servers/udp', address: '${HOST}', port: ${udpPort} }`];
  if (tcpPort) servers.push(`{ server: './servers/tcp', address: '${HOST}', port: ${tcpPort} }`);
  fs.writeFileSync(conf, `{ mgmt_address: '${HOST}', mgmt_port: ${mgmtPort}, flushInterval: 3600000, backends: [], servers: [${servers.join(', ')}] }\n`);
  const child: ChildProcess = spawn(process.execPath, [STATS_JS, conf], { cwd: path.dirname(STATS_JS), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const probe = dgram.createSocket('udp4');
  try {
    await until('statsd to receive a UDP probe', 5000, async () => {
      if (child.exitCode !== null) throw Object.assign(new Error(`statsd exited: ${output}`), { fatal: true });
      probe.send('\n', udpPort, HOST);
      const c = parseInspect(await mgmt(mgmtPort, 'counters', 500));
      return c['statsd.packets_received'] > 0 ? true : undefined;
    });
    if (tcpPort) await until('statsd TCP server', 5000, () => connectOnce(tcpPort));
  } catch (err) {
    await stop();
    throw new Error(`statsd did not start: ${(err as Error).message}\n${output}`);
  } finally {
    probe.close();
  }
  return {
    host: HOST,
    udpPort,
    tcpPort,
    mgmtPort,
    gauges: async () => parseInspect(await mgmt(mgmtPort, 'gauges')),
    counters: async () => parseInspect(await mgmt(mgmtPort, 'counters')),
    output: () => output,
    stop,
  };
}

function connectOnce(port: number): Promise<true> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, HOST, () => {
      s.end();
      resolve(true);
    });
    s.on('error', reject);
  });
}

/** Collects what arrives; `waitFor` resolves once `ready` holds on it. */
class Capture<T> {
  readonly items: T[] = [];
  private readonly ev = new EventEmitter();
  protected add(item: T): void {
    this.items.push(item);
    this.ev.emit('item');
  }
  waitFor(ready: (items: T[]) => boolean, ms = 3000): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!ready(this.items)) return;
        clearTimeout(t);
        this.ev.off('item', check);
        resolve(this.items);
      };
      const t = setTimeout(() => {
        this.ev.off('item', check);
        reject(new Error(`capture: condition not met within ${ms} ms; got ${JSON.stringify(this.items).slice(0, 2000)}`));
      }, ms);
      this.ev.on('item', check);
      check();
    });
  }
  clear(): void {
    this.items.length = 0;
  }
}

/** Every UDP datagram received, as text. */
export class UdpCapture extends Capture<string> {
  private constructor(private readonly sock: dgram.Socket, readonly port: number) {
    super();
    sock.on('message', (m) => this.add(m.toString('utf8')));
  }
  static async start(): Promise<UdpCapture> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, HOST, r));
    return new UdpCapture(sock, sock.address().port);
  }
  close(): Promise<void> {
    return new Promise((r) => this.sock.close(() => r()));
  }
}

/**
 * A TCP server whose behaviour can change: `accept` collects the bytes (items: one per chunk,
 * `text()` joins them), `reset` answers every connection with a RST, `pause` accepts and never
 * reads (a slow server) until `resume()`.
 */
export class TcpCapture extends Capture<string> {
  mode: 'accept' | 'reset' | 'pause' = 'accept';
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly srv: net.Server, readonly port: number) {
    super();
    srv.on('connection', (s) => {
      this.connections++;
      if (this.mode === 'reset') return void s.resetAndDestroy();
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => this.add(d.toString('utf8')));
      if (this.mode === 'pause') s.pause();
    });
  }
  static async start(port = 0): Promise<TcpCapture> {
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, HOST, resolve);
    });
    return new TcpCapture(srv, (srv.address() as net.AddressInfo).port);
  }
  text(): string {
    return this.items.join('');
  }
  resume(): void {
    this.mode = 'accept';
    for (const s of this.sockets) s.resume();
  }
  /** Closes the listener and every connection (the peer sees a FIN). */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.srv.close(() => r()));
  }
}

interface UnixDgramSocket extends EventEmitter {
  bind(path: string): void;
  close(): void;
}
// unix-dgram (hot-shots' optional dependency, built here) has no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const unixDgram = require('unix-dgram') as { createSocket(type: 'unix_dgram', listener?: (msg: Buffer) => void): UnixDgramSocket };

/** A unix datagram socket bound at `path`; every datagram received, as text. */
export class UdsCapture extends Capture<string> {
  private constructor(private readonly sock: UnixDgramSocket, readonly path: string) {
    super();
    sock.on('message', (m: Buffer) => this.add(m.toString('utf8')));
  }
  static start(file: string): UdsCapture {
    const sock = unixDgram.createSocket('unix_dgram');
    const cap = new UdsCapture(sock, file);
    let bindErr: Error | undefined;
    sock.once('error', (e: Error) => (bindErr = e));
    sock.bind(file);
    if (bindErr) throw bindErr;
    return cap;
  }
  close(): void {
    this.sock.close();
    fs.rmSync(this.path, { force: true });
  }
}
