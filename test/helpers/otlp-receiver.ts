// A test OTLP/HTTP metrics receiver on 127.0.0.1:0. It decodes both encodings with the official
// OTLP protobuf definitions (the generated code of @opentelemetry/otlp-transformer ≤ 0.217):
// protobuf with `decode`, JSON with `fromObject` (OTLP/JSON is the proto3 JSON mapping), and
// records every request with its headers. Failure modes answer the NEXT requests until reset.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const Request = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const Response = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;

export type ReceiverMode =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; body?: string }
  /** Answer 200 after `ms` (beyond the client's timeout, the client gives up first). */
  | { kind: 'slow'; ms: number }
  /** Reset the TCP connection (RST) once the request is read. */
  | { kind: 'reset' }
  /** Accept, but answer a partial success rejecting `rejected` points. */
  | { kind: 'partial'; rejected: number; message: string };

export interface OtlpPoint {
  attributes: Record<string, unknown>;
  /** Nanoseconds since the epoch, as decimal strings (they do not fit a double). */
  start: string;
  time: string;
  value: number;
}

export interface OtlpMetric {
  name: string;
  unit: string;
  description: string;
  type: 'gauge' | 'sum' | 'other';
  temporality?: string;
  monotonic?: boolean;
  valueKind: 'asInt' | 'asDouble' | undefined;
  points: OtlpPoint[];
}

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  encoding: 'protobuf' | 'json' | 'unknown';
  /** What the request held, when it was decoded (mode ok only); one entry per ResourceMetrics. */
  resources: { attributes: Record<string, unknown>; scope?: { name: string; version?: string }; metrics: OtlpMetric[] }[];
  /** The status this receiver answered (undefined for resets and abandoned slow answers). */
  status?: number;
}

type Obj = Record<string, any>;

function anyValue(v: Obj | undefined): unknown {
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(anyValue);
  return undefined;
}
const attrs = (list: Obj[] | undefined): Record<string, unknown> => Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));

function metric(m: Obj): OtlpMetric {
  const body: Obj = m.gauge ?? m.sum ?? {};
  const dps: Obj[] = body.dataPoints ?? [];
  return {
    name: m.name,
    unit: m.unit ?? '',
    description: m.description ?? '',
    type: m.gauge ? 'gauge' : m.sum ? 'sum' : 'other',
    temporality: m.sum?.aggregationTemporality,
    monotonic: m.sum?.isMonotonic,
    valueKind: dps[0]?.value,
    points: dps.map((p) => ({
      attributes: attrs(p.attributes),
      start: String(p.startTimeUnixNano ?? '0'),
      time: String(p.timeUnixNano ?? '0'),
      value: Number(p.asInt ?? p.asDouble),
    })),
  };
}

/** Decodes a request body; throws when it is not a valid ExportMetricsServiceRequest. */
export function decodeOtlp(body: Buffer, contentType: string): ReceivedRequest['resources'] {
  const msg = contentType.startsWith('application/json') ? Request.fromObject(JSON.parse(body.toString('utf8'))) : Request.decode(body);
  const obj: Obj = Request.toObject(msg, { longs: String, enums: String, oneofs: true });
  return (obj.resourceMetrics ?? []).map((rm: Obj) => ({
    attributes: attrs(rm.resource?.attributes),
    scope: rm.scopeMetrics?.[0]?.scope,
    metrics: (rm.scopeMetrics ?? []).flatMap((sm: Obj) => (sm.metrics ?? []).map(metric)),
  }));
}

export class OtlpReceiver {
  readonly requests: ReceivedRequest[] = [];
  mode: ReceiverMode = { kind: 'ok' };
  private server = http.createServer((req, res) => this.handle(req, res));
  private timers = new Set<NodeJS.Timeout>();

  /** Listens on 127.0.0.1:`port` (0: a free port; a given port brings back a "down" backend). */
  static async start(port = 0): Promise<OtlpReceiver> {
    const r = new OtlpReceiver();
    await new Promise<void>((resolve, reject) => {
      r.server.once('error', reject);
      r.server.listen(port, '127.0.0.1', resolve);
    });
    return r;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1/metrics`;
  }

  /** Every metric received (successful requests only), flattened. */
  metrics(): OtlpMetric[] {
    return this.requests.filter((r) => r.status === 200).flatMap((r) => r.resources.flatMap((x) => x.metrics));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = String(req.headers['content-type'] ?? '');
      const rec: ReceivedRequest = {
        path: req.url ?? '',
        headers: req.headers,
        encoding: type.startsWith('application/x-protobuf') ? 'protobuf' : type.startsWith('application/json') ? 'json' : 'unknown',
        resources: [],
      };
      this.requests.push(rec);
      const mode = this.mode;
      if (mode.kind === 'reset') {
        req.socket.resetAndDestroy();
        return;
      }
      if (mode.kind === 'status') {
        rec.status = mode.status;
        res.writeHead(mode.status, { 'content-type': 'text/plain' }).end(mode.body ?? `status ${mode.status}`);
        return;
      }
      const answer = (): void => {
        try {
          rec.resources = decodeOtlp(Buffer.concat(chunks), type);
        } catch (err) {
          rec.status = 400;
          res.writeHead(400, { 'content-type': 'text/plain' }).end(`undecodable OTLP request: ${(err as Error).message}`);
          return;
        }
        rec.status = 200;
        const json = rec.encoding === 'json';
        const partial = mode.kind === 'partial' ? { partialSuccess: { rejectedDataPoints: String(mode.rejected), errorMessage: mode.message } } : {};
        const reply = json ? Buffer.from(JSON.stringify(partial)) : Buffer.from(Response.encode(Response.fromObject(partial)).finish());
        res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(reply);
      };
      if (mode.kind === 'slow') {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (!res.destroyed && !req.socket.destroyed) answer();
        }, mode.ms);
        this.timers.add(t);
      } else answer();
    });
  }
}
