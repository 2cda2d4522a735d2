// The ClickHouse sink against a current ClickHouse (chdb 3.x embeds 26.x) through
// @clickhouse/client's pluggable connection (chdb/connection): the modern network_flows_0 as the
// sink creates it (column types, engine, keys, TTL), the rows it inserts read back with their
// exact values, and SummingMergeTree adding up equal rows when parts merge (OPTIMIZE … FINAL).
// What this cannot prove (no HTTP here): authentication, compression, a server that goes away —
// clickhouse-server.test.ts does, against a real server.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { createClient, ClickHouseClient } from '@clickhouse/client';
import { SelfStats } from '../../src/core/self-stats';
import { sectionDefaults } from '../../src/core/config-section';
import { clickhouse } from '../../src/deliver/clickhouse/plugin';
import { ClickHouseSink } from '../../src/deliver/clickhouse/sink';
import { chdb, chdbConnection } from '../helpers/chdb';
import { POD1, ROWS_PER_INTERVAL, flowBatch, interval, records } from '../helpers/flow-records';
import { resolveSection, sinkContext } from '../helpers/sinks';

const START = Date.UTC(2026, 11, 4, 9, 30, 0);

chdb().describe('ClickHouse sink on chdb (a current ClickHouse, in process)', () => {
  let dir: string;
  let sink: ClickHouseSink;
  let reader: ClickHouseClient;
  let connection: unknown;
  let sinkCfg: ReturnType<typeof resolveSection<import('../../src/deliver/clickhouse/settings').ClickHouseConfig>>;
  const stats = new SelfStats();

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-chdb-'));
    connection = chdbConnection(path.join(dir, 'db'));
    const cfg = (sinkCfg = resolveSection(clickhouse, {
      ...sectionDefaults(clickhouse.config.schema), enabled: true, create_table: true, environment: 'prod', cloud: 'aws', region: 'eu-west-1', cluster: 'c1', cell: 'cell-7',
      availability_zone: 'eu-west-1a', instance_id: 'i-0abc',
    }));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    sink = new ClickHouseSink(cfg, sinkContext('clickhouse', { stats, hostname: 'node-a' }), { connection: connection as any });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    reader = createClient({ connection: connection as any });
  });

  afterAll(async () => {
    await sink?.close(); // closes the chdb session the reader shares
    await reader?.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const select = async (q: string): Promise<Record<string, unknown>[]> => (await reader.query({ query: q, format: 'JSONEachRow' })).json();

  it('creates the modern table: column types, SummingMergeTree on bytes and packets, keys, 90-day TTL', async () => {
    await sink.start();
    expect(await sink.write(flowBatch(interval(START, 60)), AbortSignal.timeout(20_000))).toEqual({ status: 'ok', sent: ROWS_PER_INTERVAL });
    const cols = await select("SELECT name, type FROM system.columns WHERE database = 'default' AND table = 'network_flows_0' ORDER BY position");
    const LC = 'LowCardinality(String)';
    const side = (p: string) => [
      [`${p}Cloud`, LC], [`${p}Region`, LC], [`${p}Cluster`, LC], [`${p}Cell`, LC], [`${p}AvailabilityZone`, LC], [`${p}Node`, 'String'],
      [`${p}InstanceID`, 'String'], [`${p}Namespace`, LC], [`${p}Pod`, 'String'], [`${p}IPv4`, 'IPv4'], [`${p}Port`, 'UInt16'], [`${p}App`, 'String'],
    ];
    expect(cols.map((c) => [c.name, c.type])).toEqual([
      ['date', 'Date'], ['intervalStartTime', 'DateTime'], ['intervalSeconds', 'UInt16'], ['environment', LC], ['proto', LC], ['connectionClass', LC],
      ['connectionFlags', `Map(${LC}, Bool)`], ['direction', "Enum8('out' = 1, 'in' = 2)"], ...side('local'), ...side('remote'),
      ['remoteCloudService', LC], ['bytes', 'UInt64'], ['packets', 'UInt64'],
    ]);
    const [t] = await select("SELECT engine_full, sorting_key, primary_key FROM system.tables WHERE database = 'default' AND name = 'network_flows_0'");
    expect(t.engine_full).toMatch(/^SummingMergeTree\(\(bytes, packets\)\) PARTITION BY date PRIMARY KEY \(date, intervalStartTime, direction, proto, localApp, remoteApp, localPod, remotePod\) ORDER BY /);
    expect(t.engine_full).toContain('TTL intervalStartTime + toIntervalDay(90)');
    expect(t.engine_full).toContain('non_replicated_deduplication_window = 1000');
    expect(t.primary_key).toBe('date, intervalStartTime, direction, proto, localApp, remoteApp, localPod, remotePod');
    // Every column but the summed ones is in the sorting key: rows that differ in anything never merge.
    expect(String(t.sorting_key).split(', ').sort()).toEqual(cols.map((c) => String(c.name)).filter((n) => n !== 'bytes' && n !== 'packets').sort());
  }, 60_000);

  it('the rows read back with their exact values', async () => {
    const rows = await select(`SELECT *, toTypeName(bytes) AS bytesType FROM network_flows_0 ORDER BY localPod, proto, connectionClass, direction`);
    expect(rows).toHaveLength(ROWS_PER_INTERVAL);
    const common = { date: '2026-12-04', intervalStartTime: '2026-12-04 09:30:00', intervalSeconds: 60, environment: 'prod', bytesType: 'UInt64' };
    const here = { localCloud: 'aws', localRegion: 'eu-west-1', localCluster: 'c1', localCell: 'cell-7', localAvailabilityZone: 'eu-west-1a', localNode: 'node-a', localInstanceID: 'i-0abc' };
    const peerHere = { remoteCloud: 'aws', remoteRegion: 'eu-west-1', remoteCluster: 'c1', remoteCell: 'cell-7', remoteAvailabilityZone: 'eu-west-1a', remoteNode: 'node-a', remoteInstanceID: 'i-0abc' };
    const nowhere = { remoteCloud: '', remoteCluster: '', remoteCell: '', remoteNode: '', remoteInstanceID: '', remoteNamespace: '', remotePod: '', remoteApp: '' };
    const num = (r: Record<string, unknown>) => ({ ...r, bytes: Number(r.bytes), packets: Number(r.packets) });
    const pod1 = { localNamespace: 'shop', localPod: 'web-1', localApp: 'web', localIPv4: '10.200.1.2' };
    const pod2 = { localNamespace: 'data', localPod: 'db-0', localApp: 'postgres' };
    const toDb = { ...peerHere, remoteNamespace: 'data', remotePod: 'db-0', remoteApp: 'postgres', remoteIPv4: '10.200.2.2', remotePort: 5432, remoteCloudService: '' };
    expect(rows.map(num)).toEqual([
      // db-0: an IPv6 ping it answered, both ways (no IPv4 to show: 0.0.0.0, no ports), and the TCP from web-1 mirrored.
      { ...common, ...here, ...pod2, ...nowhere, proto: 'icmpv6', connectionClass: 'private', connectionFlags: { opened_by_local: false }, direction: 'out', localIPv4: '0.0.0.0', localPort: 0, remoteRegion: '', remoteAvailabilityZone: '', remoteIPv4: '0.0.0.0', remotePort: 0, remoteCloudService: '', bytes: 208, packets: 2 },
      { ...common, ...here, ...pod2, ...nowhere, proto: 'icmpv6', connectionClass: 'private', connectionFlags: { opened_by_local: false }, direction: 'in', localIPv4: '0.0.0.0', localPort: 0, remoteRegion: '', remoteAvailabilityZone: '', remoteIPv4: '0.0.0.0', remotePort: 0, remoteCloudService: '', bytes: 208, packets: 2 },
      { ...common, ...here, ...pod2, ...peerHere, proto: 'tcp', connectionClass: 'same_node', connectionFlags: { opened_by_local: false }, direction: 'out', localIPv4: '10.200.2.2', localPort: 5432, remoteNamespace: 'shop', remotePod: 'web-1', remoteApp: 'web', remoteIPv4: '10.200.1.2', remotePort: 40000, remoteCloudService: '', bytes: 1480, packets: 9 },
      { ...common, ...here, ...pod2, ...peerHere, proto: 'tcp', connectionClass: 'same_node', connectionFlags: { opened_by_local: false }, direction: 'in', localIPv4: '10.200.2.2', localPort: 5432, remoteNamespace: 'shop', remotePod: 'web-1', remoteApp: 'web', remoteIPv4: '10.200.1.2', remotePort: 40000, remoteCloudService: '', bytes: 3532, packets: 12 },
      // web-1: S3 (cloud_service, its region), to db-0 (same_node), and UDP to another zone (flagged; nothing came back: no `in` row).
      { ...common, ...here, ...pod1, ...nowhere, proto: 'tcp', connectionClass: 'cloud_service', connectionFlags: { opened_by_local: true }, direction: 'out', localPort: 41000, remoteRegion: 'eu-west-1', remoteAvailabilityZone: '', remoteIPv4: '52.218.1.9', remotePort: 443, remoteCloudService: 's3', bytes: 1_000_000, packets: 700 },
      { ...common, ...here, ...pod1, ...nowhere, proto: 'tcp', connectionClass: 'cloud_service', connectionFlags: { opened_by_local: true }, direction: 'in', localPort: 41000, remoteRegion: 'eu-west-1', remoteAvailabilityZone: '', remoteIPv4: '52.218.1.9', remotePort: 443, remoteCloudService: 's3', bytes: 40_000, packets: 350 },
      { ...common, ...here, ...pod1, ...toDb, proto: 'tcp', connectionClass: 'same_node', connectionFlags: { opened_by_local: true }, direction: 'out', localPort: 40000, bytes: 3532, packets: 12 },
      { ...common, ...here, ...pod1, ...toDb, proto: 'tcp', connectionClass: 'same_node', connectionFlags: { opened_by_local: true }, direction: 'in', localPort: 40000, bytes: 1480, packets: 9 },
      { ...common, ...here, ...pod1, ...nowhere, proto: 'udp', connectionClass: 'cross_zone', connectionFlags: { opened_by_local: true, outside: true }, direction: 'out', localPort: 53000, remoteRegion: '', remoteAvailabilityZone: 'zone-b', remoteIPv4: '10.99.0.2', remotePort: 9090, remoteCloudService: '', bytes: 312, packets: 4 },
    ]);
    expect(stats.sink('clickhouse')).toMatchObject({ sent: ROWS_PER_INTERVAL, buffered: 0, dropped: {} });
  }, 60_000);

  it('the same rows inserted twice (a retry after a lost answer) count once: the table\'s deduplication window', async () => {
    const before = Number((await select('SELECT count() AS n FROM network_flows_0'))[0].n);
    // A second sink instance with the same settings makes byte-identical INSERTs, as a retry would.
    const again = new ClickHouseSink(sinkCfg, sinkContext('clickhouse', { hostname: 'node-a' }), { connection: connection as never });
    expect(await again.write(flowBatch(interval(START, 60)), AbortSignal.timeout(20_000))).toEqual({ status: 'ok', sent: ROWS_PER_INTERVAL });
    expect(Number((await select('SELECT count() AS n FROM network_flows_0'))[0].n)).toBe(before);
  }, 60_000);

  it('SummingMergeTree adds up rows with equal keys when parts merge (OPTIMIZE TABLE … FINAL)', async () => {
    // The same interval again with twice the numbers (a second agent, or a resend): a second part.
    expect(await sink.write(flowBatch(interval(START, 60, records(2))), AbortSignal.timeout(20_000))).toEqual({ status: 'ok', sent: ROWS_PER_INTERVAL });
    // …and the next interval: never merged with the first.
    expect(await sink.write(flowBatch(interval(START + 60_000, 60, records().slice(0, 1))), AbortSignal.timeout(20_000))).toEqual({ status: 'ok', sent: 2 });
    expect(Number((await select('SELECT count() AS n FROM network_flows_0'))[0].n)).toBe(2 * ROWS_PER_INTERVAL + 2);
    await reader.command({ query: 'OPTIMIZE TABLE network_flows_0 FINAL' });
    expect(Number((await select('SELECT count() AS n FROM network_flows_0'))[0].n)).toBe(ROWS_PER_INTERVAL + 2);
    const s3 = await select("SELECT intervalStartTime, direction, bytes, packets FROM network_flows_0 WHERE remoteCloudService = 's3' ORDER BY direction");
    expect(s3.map((r) => [r.intervalStartTime, r.direction, Number(r.bytes), Number(r.packets)])).toEqual([
      ['2026-12-04 09:30:00', 'out', 3 * 1_000_000, 3 * 700],
      ['2026-12-04 09:30:00', 'in', 3 * 40_000, 3 * 350],
    ]);
    const web = await select(`SELECT intervalStartTime, sum(bytes) AS b FROM network_flows_0 WHERE localPod = '${POD1.labels.pod}' AND direction = 'out' AND connectionClass = 'same_node' GROUP BY intervalStartTime ORDER BY intervalStartTime`);
    expect(web.map((r) => [r.intervalStartTime, Number(r.b)])).toEqual([['2026-12-04 09:30:00', 3 * 3532], ['2026-12-04 09:31:00', 3532]]);
  }, 60_000);

  it('the README\'s example queries run on the table (and find its rows when the dates are the rows\')', async () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const block = readme.slice(readme.indexOf('-- Which workloads send the most'), readme.indexOf('**What the tests prove**'));
    const queries = block.split(';').map((q) => q.replace(/```[\s\S]*/, '').trim()).filter((q) => q.includes('SELECT'));
    expect(queries).toHaveLength(4);
    // today() is the machine's date: pinned to the rows' date so every query has rows to find.
    const results = [];
    for (const q of queries) results.push(await select(q.replace(/today\(\)/g, "toDate('2026-12-04')")));
    // The table holds the first interval three times over by now (1× then 2×, summed).
    expect(results[0]).toEqual([{ localNamespace: 'shop', localApp: 'web', sent: '936.00 B' }]);
    expect(results[1]).toEqual([{ date: '2026-12-04', localNamespace: 'shop', localApp: 'web', to_s3: '2.86 MiB' }]);
    expect(results[2]).toEqual([{ localApp: 'web', remoteApp: '', remoteAvailabilityZone: 'zone-b', sent: '936.00 B' }]);
    // db-0 opened nothing: 3 × (3532 + 208) bytes received.
    expect(results[3]).toEqual([{ localNamespace: 'data', localApp: 'postgres', received: '10.96 KiB' }]);
  }, 60_000);
});
