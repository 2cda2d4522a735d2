// The StatsD sink: every cycle's points as StatsD lines over UDP (default), TCP or a unix datagram
// socket, through hot-shots' transports. Line format and escaping: statsd/lines.ts.
// - Levels are gauges; kernel and agent counters become counter increments (counter-deltas.ts),
//   keyed by namespace inode + reading pid + its start time, so a recreated namespace that reuses
//   an inode starts a new baseline instead of sending a negative increment. The first cycle a
//   counter is seen sends no line for it.
// - hot-shots only carries bytes here: the lines are built and escaped in statsd/lines.ts and
//   handed to its `send(message, tags, callback)` with no tags, Datadog mode, telemetry and
//   buffering all off, so what is built is what goes on the wire, byte for byte.
// - Errors never throw. A send callback's error counts its points as dropped (`send_error`),
//   gives back their counter increments (the next cycle carries them) and makes the write
//   `retryable`; TCP/UDS then reconnect on the next write (also after the peer closed).
//   UDP cannot see an absent server: unconnected datagrams to a closed port are "sent" (the
//   ICMP port-unreachable is not reported to an unconnected socket).
// - At most MAX_IN_FLIGHT_BYTES wait in the socket (a slow TCP server); what cannot go before the
//   cycle's deadline is dropped (`deadline`). Values that cannot be encoded: `invalid_local`.
// - A TCP server that accepts and stops reading never errors: what was in flight at a cycle's
//   deadline and is still in flight at the next write has outlived that deadline, so the
//   connection is dropped (those points fail as `send_error`) and the write goes on a new one.
import { ClientOptions, StatsD } from 'hot-shots';
import * as os from 'os';
import { Batch, Sink, SinkResult, Target } from '../../core/model';
import type { MetricDef } from '../../core/metrics';
import { countDrop } from '../../core/self-stats';
import { StatsdConfig, StatsdProtocol } from './settings';
import { CounterDeltas } from '../counter-deltas';
import { SinkContext } from '../plugin';
import { Point, batchPoints, hasLabels } from '../points';
import { EncodedTags, Packer, TagStyle, counterLine, encodeTags, escapePrefix, gaugeLines, metricName, orderedLabels, pointLabels } from './lines';

/** Payload sizes: a UDP datagram that fits a 1500-byte MTU; DogStatsD's 8 KiB for unix sockets. */
const MAX_PAYLOAD: Record<StatsdProtocol, number> = { udp: 1432, tcp: 8192, uds: 8192 };
const MAX_IN_FLIGHT_BYTES = 1 << 20;
/** Points encoded at a time (see write). */
const SLICE = 500;
const CLOSE_TIMEOUT_MS = 2000;

/** hot-shots' raw send (lib/statsd.js, used by its event() and check()); absent from its types. */
interface RawSend {
  send(message: string, tags: undefined, callback: (err?: Error | null) => void): void;
}
interface Entry {
  text: string;
  undo?: () => void;
}

export class StatsdSink implements Sink {
  readonly name = 'statsd';
  private readonly protocol: StatsdProtocol;
  private readonly style: TagStyle;
  private readonly prefix: string;
  private readonly deltas = new CounterDeltas<string>();
  /** Full metric name per catalog entry (the prefix does not change). */
  private readonly names = new Map<MetricDef, string>();
  private client: StatsD | undefined;
  private generation = 0;
  private broken = false;
  /** The current client's socket has closed (a TCP peer went away): closing it again never calls back. */
  private socketClosed = false;
  private lastSocketError: string | undefined;
  private inFlightBytes = 0;
  private inFlightPoints = 0;
  private waiters: (() => void)[] = [];
  /** The generation whose sends were still in flight when a write's deadline passed. */
  private stalled: number | undefined;
  /** The last generation dropped as stalled. */
  private droppedGen = 0;
  private closed = false;

  constructor(private readonly cfg: StatsdConfig, private readonly ctx: SinkContext) {
    this.protocol = cfg.protocol;
    this.style = cfg.tagStyle;
    this.prefix = escapePrefix(cfg.prefix);
  }

  async start(): Promise<void> {
    this.connect();
  }

  /**
   * Encodes the batch a slice of points at a time and sends each datagram as soon as it is full
   * (lines/Packer packs datagrams across slices as if the cycle's lines were one list), so only the lines
   * in flight are alive, not the whole cycle's.
   */
  async write(batch: Batch, signal: AbortSignal): Promise<SinkResult> {
    if (this.closed) return { status: 'failed', error: 'write after close' };
    const c = this.ctx.counters;
    if (this.stalled === this.generation && this.inFlightPoints > 0) this.dropStalled();
    this.stalled = undefined;
    if (this.broken || !this.client) this.connect();
    const tally = { sent: 0, failed: 0, late: 0, expired: 0, error: '' };
    const pending: Promise<void>[] = [];
    const points = batchPoints(batch);
    const encode = this.encoder();
    let total = 0;
    let invalid = 0;
    const packer = new Packer<Entry>((e) => e.text.length, MAX_PAYLOAD[this.protocol]);
    /** Sends a full datagram once in-flight bytes allow; false when the deadline came first. */
    const flush = async (g: { items: Entry[]; bytes: number }): Promise<boolean> => {
      const bytes = g.bytes + 1; // every line ends with a newline (TCP) or is followed by one
      while (this.inFlightBytes > 0 && this.inFlightBytes + bytes > MAX_IN_FLIGHT_BYTES && !signal.aborted) await this.until(signal);
      if (signal.aborted) {
        expire(g.items);
        return false;
      }
      pending.push(this.send(g.items, bytes, tally));
      return true;
    };
    const expire = (rest: Entry[]): void => {
      for (const e of rest) e.undo?.();
      tally.expired += rest.length;
    };
    let open = true;
    for (let i = 0; i < points.length; i += SLICE) {
      const out = encode(points.slice(i, i + SLICE));
      invalid += out.invalid;
      total += out.entries.length;
      if (!open) {
        expire(out.entries); // still observed (and given back), so the next cycle carries them
        continue;
      }
      for (let j = 0; j < out.entries.length; j++) {
        const full = packer.add(out.entries[j]);
        if (full && !(await flush(full))) {
          expire(out.entries.slice(j + 1));
          expire(packer.end()?.items ?? []); // the entry that closed the datagram
          open = false;
          break;
        }
      }
    }
    const last = packer.end();
    if (open && last) await flush(last);
    this.deltas.endCycle();
    if (invalid > 0) countDrop(c, 'invalid_local', invalid);
    if (tally.expired > 0) countDrop(c, 'deadline', tally.expired);
    if (!signal.aborted) await this.until(signal, Promise.all(pending));
    if (signal.aborted && this.inFlightPoints > 0 && this.protocol === 'tcp') this.stalled = this.generation;
    tally.late = total - tally.sent - tally.failed - tally.expired;
    if (tally.failed + tally.expired + tally.late === 0) return { status: 'ok', sent: tally.sent };
    const parts = [
      tally.failed ? `${tally.failed} failed (${tally.error})` : '',
      tally.late ? `${tally.late} still in flight at the deadline` : '',
      tally.expired ? `${tally.expired} dropped at the deadline` : '',
    ].filter(Boolean);
    return { status: 'retryable', error: `statsd ${this.protocol}: ${tally.sent} of ${total} points sent; ${parts.join(', ')}` };
  }

  /** Waits (bounded) for what is in flight, then closes the socket. No write is accepted after. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = AbortSignal.timeout(CLOSE_TIMEOUT_MS);
    while (this.inFlightPoints > 0 && !deadline.aborted) await this.until(deadline);
    const client = this.client;
    this.client = undefined;
    this.generation++;
    if (client) await shut(client, !this.socketClosed);
  }

  /** Lines of points, for one batch: a namespace's ~18 points share its tags and counter identity, made once. */
  private encoder(): (points: Point[]) => { entries: Entry[]; invalid: number } {
    const perTarget = new Map<Target, { tags: EncodedTags; key: string }>();
    return (points) => this.encode(points, perTarget);
  }

  /** Observes the counters of `points`; the caller ends the cycle (deltas.endCycle) after the last slice. */
  private encode(points: Point[], perTarget: Map<Target, { tags: EncodedTags; key: string }>): { entries: Entry[]; invalid: number } {
    const entries: Entry[] = [];
    let invalid = 0;
    for (const p of points) {
      let name = this.names.get(p.def);
      if (name === undefined) this.names.set(p.def, (name = metricName(this.prefix, p.def.falcon)));
      let t: { tags: EncodedTags; key: string } | undefined;
      if (p.target && !hasLabels(p)) {
        t = perTarget.get(p.target);
        if (!t) perTarget.set(p.target, (t = { tags: encodeTags(pointLabels(p), this.style), key: targetKey(p.target) }));
      }
      const tags = t ? t.tags : encodeTags(pointLabels(p), this.style);
      if (p.def.kind === 'gauge') {
        const lines = gaugeLines(name, tags, p.value, this.style);
        if (lines) entries.push({ text: lines.length === 1 ? lines[0] : lines.join('\n') });
        else invalid++;
        continue;
      }
      const inc = this.deltas.observe(t ? t.key + p.def.key : counterKey(p), p.value);
      if (!Number.isFinite(p.value) || p.value < 0) invalid++;
      const line = inc && counterLine(name, tags, inc.delta, this.style);
      if (inc && line) entries.push({ text: line, undo: inc.undo });
    }
    return { entries, invalid };
  }

  private send(group: Entry[], bytes: number, tally: { sent: number; failed: number; error: string }): Promise<void> {
    const c = this.ctx.counters;
    const n = group.length;
    const gen = this.generation;
    this.inFlightBytes += bytes;
    this.inFlightPoints += n;
    c.buffered = this.inFlightPoints;
    return new Promise((resolve) => {
      const done = (err?: Error | null): void => {
        // Node reports the write a destroyed socket was doing as done: it was cut off.
        if (!err && gen === this.droppedGen) err = new Error('connection dropped: the server did not read');
        this.inFlightBytes -= bytes;
        this.inFlightPoints -= n;
        c.buffered = this.inFlightPoints;
        if (err) {
          for (const e of group) e.undo?.();
          countDrop(c, 'send_error', n);
          tally.failed += n;
          tally.error ||= this.describe(err);
          if (gen === this.generation) this.broken = true;
        } else {
          c.sent += n;
          c.last_success = Math.floor(Date.now() / 1000);
          tally.sent += n;
        }
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
        resolve();
      };
      try {
        (this.client as unknown as RawSend).send(group.map((e) => e.text).join('\n'), undefined, done);
      } catch (err) {
        done(err as Error);
      }
    });
  }

  private describe(err: Error): string {
    // hot-shots wraps send errors as "Error sending hot-shots message: Error [CODE]: text".
    const text = err.message.replace(/^Error sending hot-shots message: /, '').replace(/^Error \[(\w+)\]: /, '$1: ').replace(/^Error: /, '');
    const msg = errorText(Object.assign(new Error(text), { code: (err as { code?: unknown }).code }));
    return this.lastSocketError && !msg.includes(this.lastSocketError) ? `${msg}; last socket error: ${this.lastSocketError}` : msg;
  }

  /** A fresh client (and socket); the previous one is closed in the background. */
  private connect(): void {
    const old = this.client;
    const gen = ++this.generation;
    this.broken = false;
    this.socketClosed = false;
    this.lastSocketError = undefined;
    const onError = (err: Error): void => {
      if (gen !== this.generation) return;
      this.broken = true;
      this.lastSocketError = errorText(err);
      this.ctx.log.debug({ err: err.message }, 'statsd socket error; reconnecting on the next write');
    };
    const opts: ClientOptions = {
      protocol: this.protocol,
      maxBufferSize: 0,
      datadog: false,
      includeDataDogTags: false,
      includeDatadogTelemetry: false,
      tcpGracefulErrorHandling: false,
      udsGracefulErrorHandling: false,
      closingFlushInterval: 10,
      errorHandler: onError,
      ...(this.protocol === 'uds' ? { path: this.cfg.path } : { host: this.cfg.host, port: this.cfg.port }),
    };
    this.client = new StatsD(opts);
    // A TCP peer that closed (a restarted daemon) is noticed before the next write, not by it.
    (this.client.socket as unknown as NodeJS.EventEmitter | null)?.on('close', () => {
      if (gen === this.generation) this.broken = this.socketClosed = true;
    });
    if (old) void shut(old, false);
  }

  /** Drops a TCP connection whose peer has not read since the last deadline: its sends fail now. */
  private dropStalled(): void {
    this.ctx.log.warn({ points: this.inFlightPoints }, 'statsd tcp: the server has not read what was sent a cycle ago; reconnecting');
    // The transport's close() destroys the socket, which fails the pending writes (send_error).
    this.droppedGen = this.generation;
    (this.client?.socket as unknown as { close(): void } | null)?.close();
    this.connect();
  }

  /** Resolves when `p` settles (by default: the next in-flight payload) or the signal aborts. */
  private until(signal: AbortSignal, p?: Promise<unknown>): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        // An abort leaves no waiter behind (a stalled peer would add one per cycle).
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      };
      if (signal.aborted) return done();
      signal.addEventListener('abort', done, { once: true });
      if (p) void p.then(done);
      else this.waiters.push(done);
    });
  }
}

/**
 * Identity of a counter: the namespace as read this cycle (inode, pid, pid start) and the sample's
 * own labels (an interface), or the labels alone.
 */
function counterKey(p: Point): string {
  if (p.target) {
    const key = targetKey(p.target) + p.def.key;
    return !hasLabels(p) ? key : `${key}:${JSON.stringify(orderedLabels(p.labels, p.def))}`;
  }
  return `${p.def.scope}:${p.def.key}:${JSON.stringify(orderedLabels(p.labels, p.def))}`;
}

function targetKey(t: Target): string {
  return `ns:${t.netns}:${t.pid}:${t.pidStart}:`;
}

/** An error's message with its code; unix-dgram's negative errnos (`connect -2`) get their name. */
function errorText(err: Error): string {
  // An 'error' emitted with no listener (unix-dgram's connect) arrives wrapped: unwrap it.
  const ctx = (err as { code?: unknown; context?: unknown }).code === 'ERR_UNHANDLED_ERROR' ? (err as { context?: unknown }).context : undefined;
  if (ctx instanceof Error) return errorText(ctx);
  const code = (err as { code?: unknown }).code;
  const name = typeof code === 'number' && code < 0 ? Object.entries(os.constants.errno).find(([, n]) => n === -code)?.[0] : code;
  return name !== undefined && !err.message.includes(String(name)) ? `${String(name)}: ${err.message}` : err.message;
}

/**
 * Closes a client: stops its timers, closes its socket once in-flight sends are done. hot-shots'
 * close() never calls back when the socket closed before it listened (a TCP peer that went away),
 * so the socket's own 'close' also ends the wait, which is optional and bounded anyway.
 */
function shut(client: StatsD, wait: boolean): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(done, wait ? 1000 : 0);
    t.unref();
    // hot-shots' transports have on/removeListener, not once.
    const sock = client.socket as unknown as Pick<NodeJS.EventEmitter, 'on' | 'removeListener'> | null;
    const onClose = (): void => {
      sock?.removeListener('close', onClose);
      done();
    };
    sock?.on('close', onClose);
    try {
      client.close(done);
    } catch {
      done();
    }
  });
}
