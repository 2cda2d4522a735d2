// The OTLP/HTTP protobuf request written by otlp/protobuf.ts: byte for byte what the OTLP exporter's
// own ProtobufMetricsSerializer writes for otlp/data.ts's ResourceMetrics of the same batch, on the
// fixture batch, over cycles (counter start times), and on edge values; and the response decoder
// against the exporter's.
import { fixturePipeline } from '../helpers/pipeline';
import { Batch } from '../../src/core/model';
import { SelfStats } from '../../src/core/self-stats';
import { metricDef } from '../helpers/metrics';
import { CounterStarts, batchToOtlp, exporterSerializer, otlpResource } from '../../src/deliver/otlp/data';
import { decodeResponse, encodeRequest, resourceAttributes } from '../../src/deliver/otlp/protobuf';

const T0 = 1_700_000_040;

async function fixtureBatch(): Promise<Batch> {
  const stats = new SelfStats();
  Object.assign(stats.sink('otlp'), { sent: 7, dropped: { buffer_full: 3 }, last_success: T0 - 60 });
  const agent = fixturePipeline({ stats });
  const { batch } = await agent.runCycle(new Date((T0 + 19) * 1000));
  batch.cycle.discover_ms = 12.5;
  return batch;
}

const serializer = exporterSerializer('http/protobuf');
/** The exporter's bytes for a batch, with its own CounterStarts. */
const reference = (b: Batch, starts: CounterStarts, host = 'fixture-host', version = '9.9.9') =>
  Buffer.from(serializer.serializeRequest(batchToOtlp(b, otlpResource(host, version), version, starts).data)!);
const ours = (b: Batch, starts: CounterStarts, host = 'fixture-host', version = '9.9.9') =>
  encodeRequest(b, resourceAttributes(host, version), version, starts);

describe('OTLP protobuf request', () => {
  let batch: Batch;
  beforeAll(async () => {
    batch = await fixtureBatch();
  });

  it('is the exporter serializer\'s bytes for the fixture batch, cycle after cycle', () => {
    const [a, b] = [new CounterStarts(), new CounterStarts()];
    for (const [i, ts] of [T0, T0 + 60, T0 + 120].entries()) {
      // The second cycle lowers one counter: its series restarts (a new start time).
      const cycle: Batch = {
        ...batch,
        timestamp: ts,
        results: batch.results.map((r) => (i !== 1 || r.target.pid !== 300 ? r : { ...r, samples: r.samples.map((s) => (s.def.key === 'tcp_active_opens' ? { ...s, value: 1 } : s)) })),
      };
      const mine = ours(cycle, a);
      expect(mine.body.equals(reference(cycle, b))).toBe(true);
      expect(mine.points).toBeGreaterThan(100);
      expect(mine.body.length).toBeGreaterThan(10_000);
      expect(mine.skipped).toBe(0);
    }
  });

  it('matches on edge values: large and negative integers, doubles, skipped values, unicode, an empty version', () => {
    const host = batch.results[0];
    const cases: [string, number][] = [
      ['established', 2 ** 40 + 3], ['inuse', -5], ['udp', 0], ['total', NaN], ['timewait', Infinity], ['tcp_mem_pages', 2 ** 31],
    ];
    const edge: Batch = {
      ...batch,
      results: [
        { ...host, samples: cases.filter(([k]) => metricDef(k)).map(([key, value]) => ({ def: metricDef(key)!, value })) },
        { ...batch.results[1], target: { ...batch.results[1].target, labels: { container: 'wëb 容器 🚀', image: '' } } },
      ],
    };
    edge.cycle.collect_ms = 0.1 + 0.2;
    const mine = ours(edge, new CounterStarts(), 'hôst', '');
    expect(mine.body.equals(reference(edge, new CounterStarts(), 'hôst', ''))).toBe(true);
    expect(mine.skipped).toBe(2);
  });

  it('reads partial successes as the exporter does, and says when a reply is not a response', () => {
    const reply = (rejected: number, message: string): Buffer => {
      const msg = Buffer.from(message);
      const inner = Buffer.concat([Buffer.from([0x08]), varint(rejected), Buffer.from([0x12]), varint(msg.length), msg]);
      return Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
    };
    for (const [n, m] of [[3, 'bad points'], [300, ''], [0, 'ok']] as const) {
      const theirs = serializer.deserializeResponse(reply(n, m)).partialSuccess!;
      expect(decodeResponse(reply(n, m))).toEqual({ rejectedDataPoints: Number(theirs.rejectedDataPoints), errorMessage: theirs.errorMessage });
    }
    expect(decodeResponse(Buffer.alloc(0))).toEqual({ rejectedDataPoints: 0, errorMessage: '' });
    expect(decodeResponse(Buffer.from('{"partialSuccess":{}}'))).toBeUndefined();
  });
});

function varint(v: number): Buffer {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
