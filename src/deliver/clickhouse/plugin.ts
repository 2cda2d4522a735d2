// ClickHouse: configuration and checks of the sink (sink.ts inserts, rows.ts makes the rows,
// table.ts holds the table). @clickhouse/client loads only when the sink is built.
import { httpUrl } from '../../core/secrets';
import { SinkPlugin } from '../plugin';
import { DeliverySettings, deliverySchema, resolveDelivery } from '../delivery';
import { ClickHouseConfig } from './settings';
import { TABLE_SCHEMAS, TableSchema } from './table';

interface Raw extends DeliverySettings {
  url: string;
  user: string;
  password: string;
  database: string;
  table: string;
  schema: TableSchema;
  create_table: boolean;
  compression: boolean;
  timeout: number;
  batch_size: number;
  environment: string;
  cloud: string;
  region: string;
  cluster: string;
  cell: string;
  availability_zone: string;
  instance_id: string;
  app_label: string;
}

export type { ClickHouseConfig };

const text = (doc: string, env: string): { doc: string; format: StringConstructor; default: string; env: string } => ({ doc, format: String, default: '', env });
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const clickhouse: SinkPlugin<ClickHouseConfig> = {
  name: 'clickhouse',
  requires: { collector: 'flows', why: 'the ClickHouse sink inserts the flows collector\'s per-connection records and has nothing else to send' },
  config: {
    path: 'sinks.clickhouse',
    schema: {
      enabled: { doc: 'Insert the flows collector\'s per-interval rows into ClickHouse (table network_flows_0). Needs collectors.flows.enabled.', format: Boolean, default: false, env: 'SOCKPULSE_CLICKHOUSE_ENABLED' },
      url: { doc: 'The ClickHouse HTTP interface. Credentials in it (http://user:password@host:8123) take precedence over user and password.', format: String, default: 'http://127.0.0.1:8123', env: 'SOCKPULSE_CLICKHOUSE_URL', redact: 'url' },
      user: { doc: 'ClickHouse user.', format: String, default: 'default', env: 'SOCKPULSE_CLICKHOUSE_USER' },
      password: { doc: 'Password of the user. Never logged or printed.', format: String, default: '', env: 'SOCKPULSE_CLICKHOUSE_PASSWORD', sensitive: true },
      database: { doc: 'Database of the table.', format: String, default: 'default', env: 'SOCKPULSE_CLICKHOUSE_DATABASE' },
      table: { doc: 'The table rows are inserted into.', format: String, default: 'network_flows_0', env: 'SOCKPULSE_CLICKHOUSE_TABLE' },
      schema: {
        doc: 'Column types of the table: modern (ClickHouse 22.x and later: Map, IPv4, LowCardinality, CODECs, 90-day TTL) or legacy (ClickHouse 18.16: flags as a JSON String, addresses as UInt32, no TTL). Both are in the README, "Traffic accounting".',
        format: [...TABLE_SCHEMAS],
        default: 'modern',
        env: 'SOCKPULSE_CLICKHOUSE_SCHEMA',
      },
      create_table: { doc: 'Create the table (CREATE TABLE IF NOT EXISTS, in the schema\'s dialect) before the first insert; false: it must exist.', format: Boolean, default: false, env: 'SOCKPULSE_CLICKHOUSE_CREATE_TABLE' },
      compression: { doc: 'gzip the insert requests.', format: Boolean, default: true, env: 'SOCKPULSE_CLICKHOUSE_COMPRESSION' },
      timeout: { doc: 'Timeout of one request, in seconds (the cycle deadline also ends it).', format: 'non-negative-number', default: 10, env: 'SOCKPULSE_CLICKHOUSE_TIMEOUT' },
      batch_size: { doc: 'Rows per INSERT.', format: 'positive-int', default: 10000, env: 'SOCKPULSE_CLICKHOUSE_BATCH_SIZE' },
      environment: text('The environment column of every row (e.g. production).', 'SOCKPULSE_CLICKHOUSE_ENVIRONMENT'),
      cloud: text('This node\'s cloud (localCloud; remoteCloud of pods on this node).', 'SOCKPULSE_CLICKHOUSE_CLOUD'),
      region: text('This node\'s region (localRegion); empty: collectors.flows.region.', 'SOCKPULSE_CLICKHOUSE_REGION'),
      cluster: text('This node\'s cluster (localCluster; remoteCluster of pods, nodes and cluster CIDRs).', 'SOCKPULSE_CLICKHOUSE_CLUSTER'),
      cell: text('This node\'s cell (localCell).', 'SOCKPULSE_CLICKHOUSE_CELL'),
      availability_zone: text('This node\'s availability zone (localAvailabilityZone); empty: collectors.flows.zone.', 'SOCKPULSE_CLICKHOUSE_AVAILABILITY_ZONE'),
      instance_id: text('This node\'s cloud instance id (localInstanceID).', 'SOCKPULSE_CLICKHOUSE_INSTANCE_ID'),
      app_label: { doc: 'Label whose value is a pod\'s app (localApp, remoteApp): a copied label of the target, else a label of its containers (a CRI pod sandbox carries the pod\'s labels).', format: String, default: 'app', env: 'SOCKPULSE_CLICKHOUSE_APP_LABEL' },
      ...deliverySchema('SOCKPULSE_CLICKHOUSE'),
    },
    resolve(raw) {
      const r = raw as unknown as Raw;
      const url = httpUrl(r.url, 'sinks.clickhouse.url', 'http://127.0.0.1:8123');
      if (url.pathname !== '/' && url.pathname !== '') throw new Error(`sinks.clickhouse.url: the HTTP interface is at the server's root; "${url.pathname}" would be taken as the database: set sinks.clickhouse.database instead`);
      if (!(r.timeout > 0)) throw new Error('sinks.clickhouse.timeout: must be above 0 seconds');
      for (const key of ['database', 'table'] as const) {
        if (!NAME.test(r[key])) throw new Error(`sinks.clickhouse.${key}: "${r[key]}" is not a plain identifier (letters, digits, _; not starting with a digit)`);
      }
      return {
        url: r.url,
        user: r.user,
        password: r.password,
        database: r.database,
        table: r.table,
        schema: r.schema,
        createTable: r.create_table,
        compression: r.compression,
        timeoutMs: Math.round(r.timeout * 1000),
        batchSize: r.batch_size,
        rows: {
          environment: r.environment, cloud: r.cloud, region: r.region, cluster: r.cluster, cell: r.cell,
          availabilityZone: r.availability_zone, instanceId: r.instance_id, appLabel: r.app_label,
        },
        delivery: resolveDelivery(r),
      };
    },
  },
  create(cfg, ctx) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ClickHouseSink } = require('./sink') as typeof import('./sink');
    return new ClickHouseSink(cfg, ctx);
  },
};
