// The resolved settings the plugin (plugin.ts) hands to what it builds.
import { DeliveryOptions } from '../delivery';
import { TableSchema } from './table';

/** What every row says about this node, and where a pod's app name is read (rows.ts). */
export interface RowContext {
  environment: string;
  cloud: string;
  region: string;
  cluster: string;
  cell: string;
  availabilityZone: string;
  /** This agent's host name (the `localNode` column). */
  node: string;
  instanceId: string;
  /** Label key whose value is the `localApp` / `remoteApp` column. */
  appLabel: string;
}

export interface ClickHouseConfig {
  /** As configured: holds credentials when the user put them there; shown only through redactUrl. */
  url: string;
  user: string;
  /** Never logged or printed. */
  password: string;
  database: string;
  table: string;
  schema: TableSchema;
  createTable: boolean;
  /** gzip the insert bodies. */
  compression: boolean;
  timeoutMs: number;
  /** Rows per INSERT. */
  batchSize: number;
  rows: Omit<RowContext, 'node'>;
  delivery: DeliveryOptions;
}
