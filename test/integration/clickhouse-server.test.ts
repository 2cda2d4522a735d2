// The ClickHouse sink's HTTP path against a real clickhouse-server 18.16 (Debian bookworm's, run
// from unpacked packages on 127.0.0.1): the legacy table as the sink creates it, a user with a
// password, gzip request bodies (seen on the wire through a recording TCP relay), a wrong
// password (a clear, masked error; the rows dropped as `auth`, never retried), a server that goes
// away and comes back (the buffered rows arrive exactly once), and refusals counted.
import net from 'net';
import { PassThrough } from 'stream';
import { createLogger } from '../../src/core/log';
import { sectionDefaults } from '../../src/core/config-section';
import { SelfStats } from '../../src/core/self-stats';
import { clickhouse } from '../../src/deliver/clickhouse/plugin';
import { ClickHouseSink } from '../../src/deliver/clickhouse/sink';
import { ClickHouseServer, PASSWORD, USER, clickhouseServer } from '../helpers/clickhouse-server';
import { ROWS_PER_INTERVAL, flowBatch, interval } from '../helpers/flow-records';
import { resolveSection, sinkContext } from '../helpers/sinks';

const START = Date.UTC(2026, 11, 4, 10, 0, 0);
const at = (i: number) => flowBatch(interval(START + i * 60_000, 60));
const deadline = () => AbortSignal.timeout(20_000);

/** A TCP relay to the server that keeps what the client sent (to see the request on the wire). */
async function relay(port: number): Promise<{ url: string; sent: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const up = net.connect(port, '127.0.0.1');
    sockets.add(c).add(up);
    c.on('data', (d: Buffer) => chunks.push(d));
    c.pipe(up).pipe(c);
    const end = () => { c.destroy(); up.destroy(); };
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    sent: () => Buffer.concat(chunks),
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

clickhouseServer().describe('ClickHouse sink over HTTP against clickhouse-server 18.16', () => {
  let server: ClickHouseServer;
  let logText = '';
  const logStream = new PassThrough().on('data', (d: Buffer) => (logText += d.toString()));
  const sinks: ClickHouseSink[] = [];

  beforeAll(async () => {
    server = await ClickHouseServer.start();
  }, 60_000);

  afterAll(async () => {
    for (const s of sinks) await s.close().catch(() => undefined);
    await server?.stop();
  });

  function make(over: Record<string, unknown>, stats = new SelfStats()) {
    const cfg = resolveSection(clickhouse, {
      ...sectionDefaults(clickhouse.config.schema), enabled: true, url: server.url, user: USER, password: PASSWORD,
      schema: 'legacy', create_table: true, timeout: 5, attempts: 1, backoff_initial: 0.05, backoff_max: 0.1, ...over,
    });
    const sink = new ClickHouseSink(cfg, sinkContext('clickhouse', { stats, hostname: 'node-a', log: createLogger('debug', logStream) }));
    sinks.push(sink);
    return { sink, counters: stats.sink('clickhouse') };
  }

  it('creates the 18.16 table and inserts as a user with a password, gzip-compressed on the wire', async () => {
    const wire = await relay(server.port);
    try {
      const { sink, counters } = make({ url: wire.url, table: 'flows_gzip' });
      await sink.start();
      expect(await sink.write(at(0), deadline())).toEqual({ status: 'ok', sent: ROWS_PER_INTERVAL });
      const request = wire.sent().toString('latin1');
      expect(request).toMatch(/^POST \/\?[^\r\n]*query=INSERT/m);
      expect(request).toMatch(/^content-encoding: gzip\r$/im);
      expect(request).not.toContain('"localPod"'); // the rows went compressed
      expect(request).not.toContain(PASSWORD); // basic auth header only, never in the URL
      expect(counters).toMatchObject({ sent: ROWS_PER_INTERVAL, retried: 0, dropped: {}, buffered: 0 });
    } finally {
      await wire.close();
    }
    const types = await server.rows("SELECT name, type FROM system.columns WHERE database = 'default' AND table = 'flows_gzip' AND name IN ('connectionFlags', 'localIPv4', 'direction', 'bytes', 'localNamespace')");
    expect(Object.fromEntries(types.map((t) => [t.name, t.type]))).toEqual({
      connectionFlags: 'String', localIPv4: 'UInt32', direction: "Enum8('out' = 1, 'in' = 2)", bytes: 'UInt64', localNamespace: 'String',
    });
    const rows = await server.rows("SELECT localPod, direction, IPv4NumToString(localIPv4) AS ip, remoteCloudService, connectionFlags, visitParamExtractBool(connectionFlags, 'outside') AS outside, bytes, packets, intervalStartTime, intervalSeconds FROM flows_gzip WHERE localPod = 'web-1' ORDER BY connectionClass, direction");
    expect(rows.map((r) => [r.localPod, r.direction, r.ip, r.remoteCloudService, r.connectionFlags, r.outside, Number(r.bytes), Number(r.packets), r.intervalStartTime, r.intervalSeconds])).toEqual([
      ['web-1', 'out', '10.200.1.2', 's3', '{"opened_by_local":true}', 0, 1_000_000, 700, '2026-12-04 10:00:00', 60],
      ['web-1', 'in', '10.200.1.2', 's3', '{"opened_by_local":true}', 0, 40_000, 350, '2026-12-04 10:00:00', 60],
      ['web-1', 'out', '10.200.1.2', '', '{"opened_by_local":true,"outside":true}', 1, 312, 4, '2026-12-04 10:00:00', 60],
      ['web-1', 'out', '10.200.1.2', '', '{"opened_by_local":true}', 0, 3532, 12, '2026-12-04 10:00:00', 60],
      ['web-1', 'in', '10.200.1.2', '', '{"opened_by_local":true}', 0, 1480, 9, '2026-12-04 10:00:00', 60],
    ]);
  }, 60_000);

  it('compression: false sends the rows as they are', async () => {
    const wire = await relay(server.port);
    try {
      const { sink } = make({ url: wire.url, table: 'flows_plain', compression: false });
      expect(await sink.write(at(0), deadline())).toEqual({ status: 'ok', sent: ROWS_PER_INTERVAL });
      expect(wire.sent().toString('latin1')).not.toMatch(/content-encoding/i);
      expect(wire.sent().toString('latin1')).toContain('"localPod":"web-1"');
    } finally {
      await wire.close();
    }
    expect(await server.query('SELECT count() FROM flows_plain')).toBe(`${ROWS_PER_INTERVAL}\n`);
  }, 60_000);

  it('a wrong password: a clear error without the password, the rows dropped as auth, never retried', async () => {
    logText = '';
    const wrong = 'Wr0ng-Passw0rd';
    const { sink, counters } = make({ table: 'flows_auth', password: wrong });
    await sink.start();
    // 18.16 answers 401 and resets the connection (it does not read the rest of the request): the
    // sink's bodiless probe after a reset still finds the refusal (deliver/clickhouse/auth-probe.ts).
    for (const i of [0, 1, 2]) {
      const r = await sink.write(at(i), deadline());
      expect(r).toEqual({ status: 'failed', error: expect.stringMatching(/ClickHouse refused the credentials \(error 193\).*check sinks\.clickhouse\.user and sinks\.clickhouse\.password/) });
      expect(JSON.stringify(r)).not.toContain(wrong);
    }
    // Each cycle's rows are dropped at once; none is kept for a retry.
    expect(counters).toMatchObject({ sent: 0, retried: 0, buffered: 0, dropped: { auth: 3 * ROWS_PER_INTERVAL } });
    expect(logText).toContain('ClickHouse sink ready');
    expect(logText).not.toContain(wrong);
    // The table was never created: CREATE TABLE was refused for the same reason.
    expect(await server.query("SELECT count() FROM system.tables WHERE name = 'flows_auth'")).toBe('0\n');
  }, 60_000);

  it('a server that goes away and comes back: the buffered rows arrive exactly once', async () => {
    const { sink, counters } = make({ table: 'flows_outage' });
    expect(await sink.write(at(0), deadline())).toEqual({ status: 'ok', sent: ROWS_PER_INTERVAL });
    await server.stop(false, 'SIGKILL');
    expect(await sink.write(at(1), deadline())).toMatchObject({ status: 'retryable', error: expect.stringMatching(/ECONNREFUSED/) });
    await new Promise((r) => setTimeout(r, 150)); // past the backoff
    expect(await sink.write(at(2), deadline())).toMatchObject({ status: 'retryable' });
    expect(counters).toMatchObject({ buffered: 2 * ROWS_PER_INTERVAL, dropped: {} });
    expect(counters.retried).toBeGreaterThanOrEqual(2);
    expect(await server.run()).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    expect(await sink.write(at(3), deadline())).toEqual({ status: 'ok', sent: 3 * ROWS_PER_INTERVAL });
    expect(counters).toMatchObject({ sent: 4 * ROWS_PER_INTERVAL, buffered: 0, dropped: {} });
    const per = await server.rows('SELECT toString(intervalStartTime) AS t, count() AS n, sum(bytes) AS b FROM flows_outage GROUP BY t ORDER BY t');
    expect(per.map((p) => [p.t, Number(p.n), Number(p.b)])).toEqual([0, 1, 2, 3].map((i) => [
      `2026-12-04 10:0${i}:00`, ROWS_PER_INTERVAL, 2 * (3532 + 1480 + 208) + 312 + 1_000_000 + 40_000,
    ]));
  }, 60_000);

  it('refusals are counted: no table without create_table, the modern schema on 18.16', async () => {
    const missing = make({ table: 'flows_absent', create_table: false });
    expect(await missing.sink.write(at(0), deadline())).toEqual({ status: 'failed', error: expect.stringMatching(/ClickHouse error 60: .*flows_absent.*set sinks\.clickhouse\.create_table: true/) });
    expect(missing.counters).toMatchObject({ sent: 0, retried: 0, buffered: 0, dropped: { rejected: ROWS_PER_INTERVAL } });

    const modern = make({ table: 'flows_modern', schema: 'modern' });
    expect(await modern.sink.write(at(0), deadline())).toEqual({ status: 'failed', error: expect.stringMatching(/^CREATE TABLE `default`\.`flows_modern` failed: ClickHouse error 62: .*sinks\.clickhouse\.schema: legacy/) });
    expect(modern.counters).toMatchObject({ sent: 0, dropped: { rejected: ROWS_PER_INTERVAL } });
  }, 60_000);
});
