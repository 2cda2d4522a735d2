// A batch as OTLP points (attributes, counter start times), and those points as an OTLP/HTTP
// protobuf request (ExportMetricsServiceRequest), written here directly.
//
// The bytes are exactly those the OTLP exporter's ProtobufMetricsSerializer writes for
// otlp/data.ts's ResourceMetrics of the same batch (same fields, same order, minimal varints;
// test/unit/otlp-protobuf.test.ts compares them byte for byte). Writing them here skips the
// ResourceMetrics (an object per point), encodes a namespace's attributes once instead of once per
// point, and loads none of the OpenTelemetry packages (~5 MB of RSS): at 1000 namespaces a cycle
// allocated ~12 MB for the OTLP sink, now ~4 MB (sampled allocation profile of bench:daemon,
// BENCHMARKS.md "The whole daemon"). The http/json protocol still
// goes through the exporter's JSON serializer (otlp/data.ts).
//
// Only what sockpulse sends is written: gauges and cumulative monotonic sums of number points,
// string attributes, a resource with string attributes, one scope with a name and a version.
import { Batch, Target } from '../../core/model';
import { MetricDef } from '../../core/metrics';
import { batchPoints, hasLabels, targetLabels } from '../points';

export const SCOPE_NAME = 'sockpulse';

/** Target label → OpenTelemetry attribute (semantic conventions where one exists). */
export const TARGET_ATTRIBUTES: Readonly<Record<string, string>> = {
  scope: 'sockpulse.scope',
  container: 'container.name',
  container_id: 'container.id',
  image: 'container.image.name',
  pod: 'k8s.pod.name',
  namespace: 'k8s.namespace.name',
  pod_uid: 'k8s.pod.uid',
  kube_container: 'k8s.container.name',
  compose_project: 'container.label.com.docker.compose.project',
  compose_service: 'container.label.com.docker.compose.service',
  netns_name: 'network.namespace',
};

/** Attribute values sockpulse sends are strings (labels). */
export type StringAttributes = Record<string, string>;

/** The resource every batch carries. */
export function resourceAttributes(hostname: string, version: string): StringAttributes {
  return { 'service.name': 'sockpulse', 'service.version': version, 'host.name': hostname };
}

/**
 * A target's attributes. Copied Docker labels become `container.label.<key>` (semantic
 * conventions). An unnamed plain namespace is named `netns-<inode>` as in every sink (points.ts), so
 * two of them never fall into one series.
 */
export function targetAttributes(t: Target): StringAttributes {
  const out: StringAttributes = {};
  // Own keys only: a copied Docker label named after an Object.prototype member (`constructor`,
  // `toString`, `__proto__`…) would otherwise look up that member and name the attribute
  // "function Object() { [native code] }" or "[object Object]".
  for (const [k, v] of Object.entries(targetLabels(t))) out[Object.hasOwn(TARGET_ATTRIBUTES, k) ? TARGET_ATTRIBUTES[k] : `container.label.${k}`] = v;
  if (t.scope === 'netns' && out['network.namespace'] === undefined) out['network.namespace'] = `netns-${t.netns}`;
  return out;
}

/**
 * Start times of cumulative series, per instance; series absent from a batch are forgotten. A series
 * is its attributes' key and its metric name, kept apart (attributes → name → start) so that a
 * target's ~8 counters share one key string instead of each making its own every cycle.
 */
export class CounterStarts {
  private series = new Map<string, Map<string, { start: number; value: number }>>();
  private next = new Map<string, Map<string, { start: number; value: number }>>();
  private count = 0;
  private nextCount = 0;

  startOf(attributesKey: string, name: string, value: number, ts: number): number {
    const prev = this.series.get(attributesKey)?.get(name);
    const start = prev && value >= prev.value ? prev.start : ts;
    let names = this.next.get(attributesKey);
    if (!names) this.next.set(attributesKey, (names = new Map()));
    if (!names.has(name)) this.nextCount++;
    names.set(name, { start, value });
    return start;
  }

  /** Ends a batch: what it did not mention is forgotten. */
  commit(): void {
    this.series = this.next;
    this.count = this.nextCount;
    this.next = new Map();
    this.nextCount = 0;
  }

  get size(): number {
    return this.count;
  }
}

/** Integral scaling keeps a kernel integer an integer (pages → bytes); ms → s makes doubles. */
export function isIntMetric(def: MetricDef): boolean {
  return Number.isInteger(def.toBaseUnit ?? 1);
}

/** One set of attributes, shared by all the points of a target in a batch. */
export interface PointAttributes {
  attributes: StringAttributes;
  /** The attributes as a key, the same whatever their order. */
  key: string;
  /** Their protobuf encoding as NumberDataPoint.attributes, once asked for. */
  encoded?: Buffer;
}

/**
 * The batch's points as OTLP sees them, in batch order: a value in base units that is a finite
 * number (an integer for integer metrics), its attributes, and its start time (unix seconds; the
 * batch's timestamp for gauges). Points that cannot be sent are counted as `skipped`. Commits
 * `starts` at the end.
 */
export function otlpPoints(
  batch: Batch,
  starts: CounterStarts,
  emit: (def: MetricDef, attributes: PointAttributes, start: number, value: number) => void,
): { points: number; skipped: number } {
  // A namespace's points share one attributes object and its key: made once per target.
  const perTarget = new Map<Target, PointAttributes>();
  let points = 0;
  let skipped = 0;
  for (const p of batchPoints(batch)) {
    const value = p.value * (p.def.toBaseUnit ?? 1);
    if (!Number.isFinite(value) || (isIntMetric(p.def) && !Number.isInteger(value))) {
      skipped++;
      continue;
    }
    const own = hasLabels(p);
    let a = p.target && !own ? perTarget.get(p.target) : undefined;
    if (p.target && !own && !a) {
      const attributes = targetAttributes(p.target);
      perTarget.set(p.target, (a = { attributes, key: attributesKey(attributes) }));
    }
    if (!a) {
      const attributes = p.target ? pointAttributes(p.target, p.labels, p.def) : { ...p.labels };
      a = { attributes, key: attributesKey(attributes) };
    }
    const start = p.def.kind === 'counter' ? starts.startOf(a.key, p.def.otel, value, batch.timestamp) : batch.timestamp;
    emit(p.def, a, start, value);
    points++;
  }
  starts.commit();
  return { points, skipped };
}

/**
 * A namespace point with labels of its own (an interface): its target's attributes, then its own,
 * named as its definition says (MetricDef.labels `otel`: the semantic conventions' name where one exists).
 */
function pointAttributes(t: Target, labels: Record<string, string>, def: MetricDef): StringAttributes {
  const out = targetAttributes(t);
  for (const [k, v] of Object.entries(labels)) out[def.labels?.find((l) => l.key === k)?.otel ?? k] = v;
  return out;
}

/** Attributes as a key, the same whatever their order. */
function attributesKey(attributes: StringAttributes): string {
  return JSON.stringify(Object.keys(attributes).sort().map((k) => [k, attributes[k]]));
}

// ---- protobuf ----

export interface ProtobufRequest {
  body: Buffer;
  /** Data points in the request. */
  points: number;
  /** Points left out (a value that is not a finite number). */
  skipped: number;
}

interface MetricPoints {
  def: MetricDef;
  attrs: PointAttributes[];
  starts: number[];
  values: number[];
}

/** The batch as an ExportMetricsServiceRequest: one ResourceMetrics, one ScopeMetrics, a Metric per catalog entry present. */
export function encodeRequest(batch: Batch, resource: StringAttributes, version: string, starts: CounterStarts): ProtobufRequest {
  const byName = new Map<string, MetricPoints>();
  const { points, skipped } = otlpPoints(batch, starts, (def, attrs, start, value) => {
    let m = byName.get(def.otel);
    if (!m) byName.set(def.otel, (m = { def, attrs: [], starts: [], values: [] }));
    m.attrs.push(attrs);
    m.starts.push(start);
    m.values.push(value);
  });
  // Sizes first (every length prefix is a minimal varint), then one buffer of exactly that size.
  const resourceBytes = attributesBytes(resource, 1);
  const resourceLen = resourceBytes.length + 2; // + dropped_attributes_count = 0 (tag 2, varint 0)
  const scopeLen = stringField(SCOPE_NAME) + (version ? stringField(version) : 0);
  const metrics = [...byName.values()].map((m) => {
    let dataLen = 0;
    for (const a of m.attrs) {
      a.encoded ??= attributesBytes(a.attributes, 7);
      dataLen += lenField(DATA_POINT_FIXED + a.encoded.length);
    }
    if (m.def.kind === 'counter') dataLen += 4; // aggregation_temporality CUMULATIVE, is_monotonic
    const len = stringField(m.def.otel) + (m.def.help ? stringField(m.def.help) : 0) + (m.def.unit ? stringField(m.def.unit) : 0) + lenField(dataLen);
    return { m, dataLen, len };
  });
  const scopeMetricsLen = lenField(scopeLen) + metrics.reduce((n, x) => n + lenField(x.len), 0);
  const resourceMetricsLen = lenField(resourceLen) + lenField(scopeMetricsLen);
  const w = new Writer(lenField(resourceMetricsLen));

  w.tag(1, LEN).varint(resourceMetricsLen); // ExportMetricsServiceRequest.resource_metrics
  w.tag(1, LEN).varint(resourceLen).bytes(resourceBytes).tag(2, VARINT).varint(0); // ResourceMetrics.resource
  w.tag(2, LEN).varint(scopeMetricsLen); // ResourceMetrics.scope_metrics
  w.tag(1, LEN).varint(scopeLen).string(1, SCOPE_NAME); // ScopeMetrics.scope
  if (version) w.string(2, version);
  for (const { m, dataLen, len } of metrics) {
    w.tag(2, LEN).varint(len); // ScopeMetrics.metrics
    w.string(1, m.def.otel);
    if (m.def.help) w.string(2, m.def.help);
    if (m.def.unit) w.string(3, m.def.unit);
    const counter = m.def.kind === 'counter';
    w.tag(counter ? 7 : 5, LEN).varint(dataLen); // Metric.sum | Metric.gauge
    const int = isIntMetric(m.def);
    for (let i = 0; i < m.attrs.length; i++) {
      const attrs = m.attrs[i].encoded!;
      w.tag(1, LEN).varint(DATA_POINT_FIXED + attrs.length); // data_points
      w.tag(2, I64).nanos(m.starts[i]); // start_time_unix_nano
      w.tag(3, I64).nanos(batch.timestamp); // time_unix_nano
      if (int) w.tag(6, I64).sfixed64(m.values[i]); // as_int
      else w.tag(4, I64).double(m.values[i]); // as_double
      w.bytes(attrs); // attributes
    }
    if (counter) w.tag(2, VARINT).varint(2).tag(3, VARINT).varint(1); // CUMULATIVE, monotonic
  }
  return { body: w.finish(), points, skipped };
}

/**
 * rejected_data_points and error_message of an ExportMetricsServiceResponse's partial_success
 * (zero and empty when it has none); undefined when the bytes are not such a message.
 */
export function decodeResponse(data: Uint8Array): { rejectedDataPoints: number; errorMessage: string } | undefined {
  const top = fields(data);
  const partial = top?.get(1);
  if (!top) return undefined;
  if (!(partial instanceof Uint8Array)) return { rejectedDataPoints: 0, errorMessage: '' };
  const inner = fields(partial);
  if (!inner) return undefined;
  const n = inner.get(1);
  const msg = inner.get(2);
  return { rejectedDataPoints: typeof n === 'number' ? n : 0, errorMessage: msg instanceof Uint8Array ? Buffer.from(msg).toString('utf8') : '' };
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
/** A NumberDataPoint without its attributes: three tagged 8-byte fields. */
const DATA_POINT_FIXED = 27;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** A length-delimited field of `len` bytes (fields 1–15: a one-byte tag). */
function lenField(len: number): number {
  return 1 + varintSize(len) + len;
}

function stringField(s: string): number {
  return lenField(Buffer.byteLength(s, 'utf8'));
}

/** Repeated KeyValue with string values, as field `fieldNumber` of its message. */
function attributesBytes(attributes: StringAttributes, fieldNumber: number): Buffer {
  const entries = Object.keys(attributes).map((key) => {
    const value = attributes[key];
    if (typeof value !== 'string') throw new TypeError(`attribute ${key} is not a string`);
    const anyValue = stringField(value); // AnyValue.string_value
    const kv = stringField(key) + lenField(anyValue);
    return { key, value, anyValue, kv };
  });
  const w = new Writer(entries.reduce((n, e) => n + lenField(e.kv), 0));
  for (const e of entries) w.tag(fieldNumber, LEN).varint(e.kv).string(1, e.key).tag(2, LEN).varint(e.anyValue).string(1, e.value);
  return w.finish();
}

class Writer {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  varint(v: number): this {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  string(field: number, s: string): this {
    this.tag(field, LEN).varint(Buffer.byteLength(s, 'utf8'));
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  bytes(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Whole seconds as fixed64 nanoseconds (exact: split so no product exceeds 2^53). */
  nanos(seconds: number): this {
    const lo16 = seconds % 0x10000;
    const hi = Math.floor(seconds / 0x10000);
    // seconds * 1e9 = hi * 1e9 * 2^16 + lo16 * 1e9
    const a = lo16 * 1e9; // < 2^46
    const b = hi * 1e9; // < 2^53 for any time before the year 2^37
    const low = (a % 0x100000000) + (b % 0x10000) * 0x10000;
    const high = Math.floor(a / 0x100000000) + Math.floor(b / 0x10000) + Math.floor(low / 0x100000000);
    this.buf.writeUInt32LE(low % 0x100000000, this.pos);
    this.buf.writeUInt32LE(high % 0x100000000, this.pos + 4);
    this.pos += 8;
    return this;
  }

  /** An integer (exact up to 2^53) as sfixed64: two's complement, little-endian. */
  sfixed64(v: number): this {
    const m = Math.abs(v);
    let low = m % 0x100000000;
    let high = Math.floor(m / 0x100000000) % 0x100000000;
    if (v < 0) {
      low = (~low >>> 0) + 1;
      high = ~high >>> 0;
      if (low === 0x100000000) {
        low = 0;
        high = (high + 1) >>> 0;
      }
    }
    this.buf.writeUInt32LE(low, this.pos);
    this.buf.writeUInt32LE(high, this.pos + 4);
    this.pos += 8;
    return this;
  }

  double(v: number): this {
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  finish(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`protobuf size mismatch: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

/** The first value of each field of a message (a number for varints, else the bytes); undefined when malformed. */
function fields(data: Uint8Array): Map<number, number | Uint8Array> | undefined {
  const out = new Map<number, number | Uint8Array>();
  let pos = 0;
  const readVarint = (): number | undefined => {
    let v = 0;
    for (let i = 0, mul = 1; i < 10 && pos < data.length; i++, mul *= 128) {
      const b = data[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
    }
    return undefined;
  };
  while (pos < data.length) {
    const key = readVarint();
    if (key === undefined) return undefined;
    const wire = key % 8;
    let value: number | Uint8Array;
    if (wire === VARINT) {
      const v = readVarint();
      if (v === undefined) return undefined;
      value = v;
    } else {
      const len = wire === I64 ? 8 : wire === 5 ? 4 : wire === LEN ? readVarint() : undefined;
      if (len === undefined || pos + len > data.length) return undefined;
      value = data.subarray(pos, pos + len);
      pos += len;
    }
    const f = Math.floor(key / 8);
    if (!out.has(f)) out.set(f, value);
  }
  return out;
}
