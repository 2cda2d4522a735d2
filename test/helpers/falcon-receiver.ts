// A stand-in for Open-Falcon's push entry points, implementing their contract (read from
// falcon-plus: modules/agent/http/push.go, modules/transfer/http/api_http.go,
// modules/transfer/receiver/rpc/rpc_transfer.go, common/utils/tags.go), on 127.0.0.1 port 0.
// Both entry points on one server:
//   POST /v1/push  (agent):    blank body → 400 "body is blank"; undecodable → 400
//                              "connot decode body" [sic]; else 200 "success", always.
//   POST /api/push (transfer): blank body → 400 "blank body"; undecodable → 400 "decode error";
//                              else 200 {"msg":"success","data":{"Message":"ok","Total":N,"Invalid":M,"Latency":ms}}.
// "Undecodable" is Go's encoding/json into []*MetricValue: a syntax error or a type error anywhere
// (tags not a string, a float or string step/timestamp, an out-of-range number, a non-object
// element) fails the whole batch. Keys match fields case-insensitively; unknown keys are ignored;
// null leaves a field empty; only the first JSON value of the body is read.
// Each decoded item is then checked alone as RecvMetricValues does (the agent forwards to a
// transfer that does the same), and the ones kept are recorded as the transfer passes them on.
// Failure modes for tests: an HTTP status, slow replies, reset connections, refused connections,
// and a rewriting proxy in front (to provoke the contract's own rejections).
import * as http from 'http';
import type { AddressInfo } from 'net';

export type Via = 'agent' | 'transfer';

/** An accepted item as the transfer hands it on (MetaData): value parsed, tags split. */
export interface ReceivedItem {
  via: Via;
  endpoint: string;
  metric: string;
  timestamp: number;
  step: number;
  counterType: string;
  value: number;
  tags: Record<string, string>;
  /** The tags string as it was sent. */
  rawTags: string;
}

export interface RequestRecord {
  via: Via | 'unknown';
  status: number;
  /** Items in the body (Total), and how many of them were dropped (Invalid). */
  total: number;
  invalid: number;
  mode: FailMode['kind'];
  body: string;
}

export type FailMode =
  | { kind: 'ok' }
  /** Answer every request with this status (after reading the body). */
  | { kind: 'status'; status: number }
  /** Answer only after `ms`. accept 'before': items are taken on arrival (a timed-out client
   *  will resend them); 'after': taken when the delay ends, and only if the client still waits. */
  | { kind: 'slow'; ms: number; accept: 'before' | 'after' }
  /** Reset the connection (TCP RST) as soon as a request arrives. */
  | { kind: 'reset' }
  /** Stop listening: connections are refused until the mode changes. */
  | { kind: 'refuse' }
  /** A proxy in front that alters each body before the contract applies to it (to provoke the
   *  contract's own 400s and Invalid counts from a sender that never sends bad items). */
  | { kind: 'rewrite'; fn: (body: string) => string };

/**
 * The local agent while its transfer is down (seen against the real one): it takes the items, blocks
 * ~14 s trying to forward them, then answers 200 "success" and keeps them queued, whether or not
 * the client still waits. A client that gives up earlier and resends makes duplicates.
 */
export const agentTransferDown = (ms = 14_000): FailMode => ({ kind: 'slow', ms, accept: 'before' });

export class FalconReceiver {
  readonly items: ReceivedItem[] = [];
  readonly rejected: { via: Via; reason: string; item: unknown }[] = [];
  readonly requests: RequestRecord[] = [];
  private mode: FailMode = { kind: 'ok' };
  private readonly timers = new Set<NodeJS.Timeout>();
  private listening = false;

  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FalconReceiver> {
    let self: FalconReceiver | undefined;
    const server = http.createServer((req, res) => self!.handle(req, res));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    self = new FalconReceiver(server, (server.address() as AddressInfo).port);
    self.listening = true;
    return self;
  }

  get agentUrl(): string {
    return `http://127.0.0.1:${this.port}/v1/push`;
  }

  get transferUrl(): string {
    return `http://127.0.0.1:${this.port}/api/push`;
  }

  async setMode(mode: FailMode): Promise<void> {
    this.mode = mode;
    if (mode.kind === 'refuse' && this.listening) {
      this.listening = false;
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      await closed;
    } else if (mode.kind !== 'refuse' && !this.listening) {
      await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(this.port, '127.0.0.1', resolve));
      this.listening = true;
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const via: Via | undefined = path === '/v1/push' ? 'agent' : path === '/api/push' ? 'transfer' : undefined;
    const mode = this.mode;
    if (mode.kind === 'reset') {
      this.requests.push({ via: via ?? 'unknown', status: 0, total: 0, invalid: 0, mode: mode.kind, body: '' });
      req.socket.resetAndDestroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sent = Buffer.concat(chunks).toString('utf8');
      const body = mode.kind === 'rewrite' ? mode.fn(sent) : sent;
      // Go: ContentLength is 0 for "Content-Length: 0" and for a body with neither header.
      const blank = req.headers['content-length'] === '0' || (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined);
      const answer = (): void => {
        const r = via ? this.push(via, body, blank) : { status: 404, type: 'text/plain; charset=utf-8', text: '404 page not found\n', total: 0, invalid: 0 };
        this.requests.push({ via: via ?? 'unknown', status: r.status, total: r.total, invalid: r.invalid, mode: mode.kind, body });
        res.writeHead(r.status, { 'content-type': r.type }).end(r.text);
      };
      if (mode.kind === 'status') {
        this.requests.push({ via: via ?? 'unknown', status: mode.status, total: 0, invalid: 0, mode: mode.kind, body });
        res.writeHead(mode.status, { 'content-type': 'text/plain; charset=utf-8' }).end(`injected ${mode.status}\n`);
      } else if (mode.kind === 'slow' && mode.accept === 'before') {
        const r = via ? this.push(via, body, blank) : undefined;
        this.requests.push({ via: via ?? 'unknown', status: r?.status ?? 404, total: r?.total ?? 0, invalid: r?.invalid ?? 0, mode: mode.kind, body });
        this.later(mode.ms, () => res.writeHead(r?.status ?? 404, { 'content-type': r?.type ?? 'text/plain' }).end(r?.text ?? ''));
      } else if (mode.kind === 'slow') {
        this.later(mode.ms, () => {
          if (req.socket.destroyed) this.requests.push({ via: via ?? 'unknown', status: 0, total: 0, invalid: 0, mode: mode.kind, body });
          else answer();
        });
      } else {
        answer();
      }
    });
  }

  /** One push as the agent or the transfer handles it. */
  private push(via: Via, body: string, blank: boolean): { status: number; type: string; text: string; total: number; invalid: number } {
    const plain = 'text/plain; charset=utf-8';
    if (blank) return { status: 400, type: plain, text: `${via === 'agent' ? 'body is blank' : 'blank body'}\n`, total: 0, invalid: 0 };
    const start = Date.now();
    const decoded = decodeMetricValues(body);
    if (!Array.isArray(decoded)) return { status: 400, type: plain, text: `${via === 'agent' ? 'connot decode body' : 'decode error'}\n`, total: 0, invalid: 0 };
    let invalid = 0;
    for (const mv of decoded) {
      const out = recvMetricValue(mv, Math.floor(start / 1000));
      if (typeof out === 'string') {
        invalid++;
        this.rejected.push({ via, reason: out, item: mv });
      } else {
        this.items.push({ via, ...out });
      }
    }
    if (via === 'agent') return { status: 200, type: plain, text: 'success', total: decoded.length, invalid };
    const reply = { msg: 'success', data: { Message: 'ok', Total: decoded.length, Invalid: invalid, Latency: Date.now() - start } };
    return { status: 200, type: 'application/json; charset=UTF-8', text: JSON.stringify(reply), total: decoded.length, invalid };
  }
}

// ---- Go's encoding/json, as far as []*MetricValue needs it ---------------------------------

/** A JSON value with numbers kept as written (Go decides int64 vs float64 from the text). */
type JValue =
  | { t: 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'num'; raw: string }
  | { t: 'str'; v: string }
  | { t: 'arr'; v: JValue[] }
  | { t: 'obj'; v: [string, JValue][] };

/** MetricValue: Value is interface{} (null → nil, number → float64, string, or anything else). */
export interface MetricValue {
  endpoint: string;
  metric: string;
  value: null | number | string | { other: string };
  step: bigint;
  counterType: string;
  tags: string;
  timestamp: bigint;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const FIELDS = ['endpoint', 'metric', 'value', 'step', 'counterType', 'tags', 'timestamp'] as const;
type Field = (typeof FIELDS)[number];

/** The items of a body, or undefined where Go's Decode(&[]*MetricValue) returns an error. */
export function decodeMetricValues(body: string): (MetricValue | null)[] | undefined {
  let top: JValue;
  try {
    top = new JsonReader(body).first();
  } catch {
    return undefined;
  }
  if (top.t === 'null') return [];
  if (top.t !== 'arr') return undefined;
  const out: (MetricValue | null)[] = [];
  for (const el of top.v) {
    if (el.t === 'null') out.push(null);
    else if (el.t !== 'obj') return undefined;
    else {
      const mv = toMetricValue(el.v);
      if (!mv) return undefined;
      out.push(mv);
    }
  }
  return out;
}

/** Go matches keys to fields exactly first, then case-insensitively (with Unicode's ſ→s, K→k folds). */
function fieldOf(key: string): Field | undefined {
  const fold = (s: string): string => s.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase();
  return FIELDS.find((f) => f === key) ?? FIELDS.find((f) => fold(f) === fold(key));
}

function toMetricValue(entries: [string, JValue][]): MetricValue | undefined {
  const mv: MetricValue = { endpoint: '', metric: '', value: null, step: 0n, counterType: '', tags: '', timestamp: 0n };
  for (const [key, v] of entries) {
    const f = fieldOf(key);
    if (f === undefined) continue; // unknown keys are ignored
    if (f === 'value') {
      if (v.t === 'null') mv.value = null;
      else if (v.t === 'num') {
        const n = Number(v.raw);
        if (!Number.isFinite(n)) return undefined; // float64 out of range: a type error
        mv.value = n;
      } else if (v.t === 'str') mv.value = v.v;
      else mv.value = { other: v.t };
      continue;
    }
    if (v.t === 'null') continue; // null into a string or an int64 leaves it as it was
    if (f === 'step' || f === 'timestamp') {
      if (v.t !== 'num' || !/^-?\d+$/.test(v.raw)) return undefined;
      const n = BigInt(v.raw);
      if (n < INT64_MIN || n > INT64_MAX) return undefined;
      mv[f] = n;
    } else {
      if (v.t !== 'str') return undefined;
      mv[f] = v.v;
    }
  }
  return mv;
}

class JsonReader {
  private i = 0;
  constructor(private readonly s: string) {}

  /** The first value; what follows it is never read (as json.Decoder.Decode). */
  first(): JValue {
    return this.value();
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i])) this.i++;
  }

  private fail(): never {
    throw new SyntaxError(`invalid JSON at ${this.i}`);
  }

  private value(): JValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return { t: 'str', v: this.string() };
    for (const [word, v] of [['true', { t: 'bool', v: true }], ['false', { t: 'bool', v: false }], ['null', { t: 'null' }]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 4096));
    if (!m) this.fail();
    this.i += m[0].length;
    return { t: 'num', raw: m[0] };
  }

  private object(): JValue {
    this.i++;
    const v: [string, JValue][] = [];
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { t: 'obj', v };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail();
      const key = this.string();
      this.ws();
      if (this.s[this.i++] !== ':') this.fail();
      v.push([key, this.value()]);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return { t: 'obj', v };
      if (c !== ',') this.fail();
    }
  }

  private array(): JValue {
    this.i++;
    const v: JValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return { t: 'arr', v };
    }
    for (;;) {
      v.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return { t: 'arr', v };
      if (c !== ',') this.fail();
    }
  }

  private string(): string {
    this.i++;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail();
      const c = this.s[this.i++];
      if (c === '"') break;
      if (c < ' ') this.fail(); // raw control characters are a syntax error
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) out += simple[e];
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i, this.i + 4))) {
        out += String.fromCharCode(parseInt(this.s.slice(this.i, this.i + 4), 16));
        this.i += 4;
      } else this.fail();
    }
    // Go turns a lone surrogate into U+FFFD (which is what makes its byte length 3).
    return out.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  }
}

// ---- RecvMetricValues -----------------------------------------------------------------------

/** What the transfer keeps of one item, or why it drops it (its checks, in its order). */
export function recvMetricValue(v: MetricValue | null, nowSeconds: number): Omit<ReceivedItem, 'via'> | string {
  if (v === null) return 'nil';
  if (v.metric === 'kernel.hostname') return 'kernel.hostname';
  if (v.metric === '' || v.endpoint === '') return 'empty metric or endpoint';
  if (v.counterType !== 'COUNTER' && v.counterType !== 'GAUGE' && v.counterType !== 'DERIVE') return 'counterType';
  if (v.value === '') return 'empty value';
  if (v.step <= 0n) return 'step';
  if (Buffer.byteLength(v.metric) + Buffer.byteLength(v.tags) > 510) return 'metric+tags over 510 bytes';
  const now = BigInt(nowSeconds);
  const timestamp = v.timestamp <= 0n || v.timestamp > now * 2n ? now : v.timestamp;
  let value: number | undefined;
  if (typeof v.value === 'number') value = v.value;
  else if (typeof v.value === 'string') value = goParseFloat(v.value);
  if (value === undefined) return 'value';
  return {
    endpoint: v.endpoint,
    metric: v.metric,
    timestamp: Number(timestamp),
    step: Number(v.step),
    counterType: v.counterType,
    value,
    tags: dictedTagstring(v.tags),
    rawTags: v.tags,
  };
}

/** common/utils/tags.go DictedTagstring: spaces removed, split on ',', each pair at its first '='. */
export function dictedTagstring(s: string): Record<string, string> {
  const dict = new Map<string, string>();
  if (s === '') return {};
  for (const tag of s.replace(/ /g, '').split(',')) {
    const idx = tag.indexOf('=');
    if (idx !== -1) dict.set(tag.slice(0, idx), tag.slice(idx + 1));
  }
  return Object.fromEntries(dict);
}

/**
 * strconv.ParseFloat(s, 64): decimal and hexadecimal (p exponent required) literals with Go's
 * underscore separators, "inf"/"infinity" with an optional sign and "nan", any case; undefined
 * on a syntax error or overflow (ErrRange). Hex mantissas longer than 53 bits may round
 * differently from Go; validity is exact.
 */
export function goParseFloat(s: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (s.includes('_') && !underscoreOK(s)) return undefined;
  const t = s.replace(/_/g, '');
  let v: number;
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(t);
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) v = Number(t);
  else if (hex && (hex[2] + (hex[3] ?? '')).length > 0) {
    const digits = hex[2] + (hex[3] ?? '');
    const exp = Math.max(-5000, Math.min(5000, Number(hex[4]))) - 4 * (hex[3] ?? '').length;
    const half = Math.trunc(exp / 2);
    v = Number(BigInt(`0x${digits}`)) * 2 ** half * 2 ** (exp - half) * (hex[1] === '-' ? -1 : 1);
  } else return undefined;
  return Number.isFinite(v) ? v : undefined;
}

/** strconv's underscoreOK: '_' only between digits, or between a base prefix and a digit. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(s[1].toLowerCase())) {
    i = 2;
    saw = '0';
    hex = s[1].toLowerCase() === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) saw = '0';
    else if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
    } else {
      if (saw === '_') return false;
      saw = '!';
    }
  }
  return saw !== '_';
}
