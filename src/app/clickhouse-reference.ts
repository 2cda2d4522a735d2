// The README's ClickHouse tables: the statements the ClickHouse sink runs with create_table, in
// both dialects, generated from deliver/clickhouse/table.ts so they cannot drift.
import { createTableSql } from '../deliver/clickhouse/table';

export function clickhouseTablesReference(): string {
  return [
    'Modern (ClickHouse 22.x and later; `schema: modern`, the default):',
    '',
    '```sql',
    `${createTableSql('default', 'network_flows_0', 'modern')};`,
    '```',
    '',
    'ClickHouse 18.16 (`schema: legacy`): `connectionFlags` is a String holding a JSON object',
    '(`visitParamExtractBool(connectionFlags, \'outside\')`), addresses are UInt32',
    '(`IPv4NumToString(localIPv4)`), no TTL (drop old partitions yourself: `PARTITION BY date`):',
    '',
    '```sql',
    `${createTableSql('default', 'network_flows_0', 'legacy')};`,
    '```',
  ].join('\n');
}
