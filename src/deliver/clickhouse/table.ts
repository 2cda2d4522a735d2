// The table `network_flows_0`: its columns in both dialects and its CREATE TABLE statement.
// - modern (ClickHouse 22.x and later; what chdb embeds): the kubenetmon-like schema of issue 12 —
//   LowCardinality strings, Map(LowCardinality(String), Bool) flags, IPv4, CODECs, a 90-day TTL.
// - legacy (ClickHouse 18.16, the only server in Debian bookworm): none of Map, IPv4, CODEC, TTL,
//   nor (without an experimental setting) LowCardinality. Flags become a String holding a JSON
//   object with sorted keys, IPv4 a UInt32 (IPv4NumToString() shows it), the rest plain types.
// Both are SummingMergeTree((bytes, packets)): rows with an equal sorting key are added up when
// parts merge; every column but bytes and packets is in the sorting key, so nothing else is lost.
export type TableSchema = 'modern' | 'legacy';
export const TABLE_SCHEMAS: readonly TableSchema[] = ['modern', 'legacy'];

interface Column {
  name: string;
  modern: string;
  legacy: string;
}

const LC = 'LowCardinality(String)';
const col = (name: string, modern: string, legacy = modern): Column => ({ name, modern, legacy });
const lc = (name: string): Column => col(name, LC, 'String');

/** The per-side columns, in table order (`local…` then `remote…`). */
function side(p: 'local' | 'remote'): Column[] {
  return [
    lc(`${p}Cloud`), lc(`${p}Region`), lc(`${p}Cluster`), lc(`${p}Cell`), lc(`${p}AvailabilityZone`),
    col(`${p}Node`, 'String'), col(`${p}InstanceID`, 'String'), lc(`${p}Namespace`), col(`${p}Pod`, 'String'),
    col(`${p}IPv4`, 'IPv4', 'UInt32'), col(`${p}Port`, 'UInt16'), col(`${p}App`, 'String'),
  ];
}

export const COLUMNS: readonly Column[] = [
  col('date', 'Date'),
  col('intervalStartTime', 'DateTime'),
  col('intervalSeconds', 'UInt16'),
  lc('environment'),
  lc('proto'),
  lc('connectionClass'),
  col('connectionFlags', `Map(${LC}, Bool)`, 'String'),
  col('direction', "Enum8('out' = 1, 'in' = 2)"),
  ...side('local'),
  ...side('remote'),
  lc('remoteCloudService'),
  col('bytes', 'UInt64'),
  col('packets', 'UInt64'),
];

export const COLUMN_NAMES: readonly string[] = COLUMNS.map((c) => c.name);

/** What queries filter on most: the primary key, a prefix of the sorting key. */
const PRIMARY = ['date', 'intervalStartTime', 'direction', 'proto', 'localApp', 'remoteApp', 'localPod', 'remotePod'];
/** Every other column but the summed ones, so rows that differ in anything are never merged. */
const SORTING = [...PRIMARY, ...COLUMN_NAMES.filter((n) => !PRIMARY.includes(n) && n !== 'bytes' && n !== 'packets')];

/** Codecs of the modern table: deltas for the columns that grow slowly, ZSTD for all. */
function codec(c: Column): string {
  if (/^(date|intervalSeconds|.*Port)$/.test(c.name)) return ' CODEC(Delta(2), ZSTD(1))';
  if (/^(intervalStartTime|.*IPv4)$/.test(c.name)) return ' CODEC(Delta(4), ZSTD(1))';
  if (c.name === 'bytes' || c.name === 'packets') return ' CODEC(Delta(8), ZSTD(1))';
  return ' CODEC(ZSTD(1))';
}

/** A quoted identifier (database and table names come from configuration). */
export function ident(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

export function createTableSql(database: string, table: string, schema: TableSchema): string {
  const modern = schema === 'modern';
  const cols = COLUMNS.map((c) => `    ${c.name} ${modern ? c.modern + codec(c) : c.legacy}`).join(',\n');
  return [
    `CREATE TABLE IF NOT EXISTS ${ident(database)}.${ident(table)}`,
    '(',
    cols,
    ')',
    'ENGINE = SummingMergeTree((bytes, packets))',
    'PARTITION BY date',
    `PRIMARY KEY (${PRIMARY.join(', ')})`,
    `ORDER BY (${SORTING.join(', ')})`,
    // The deduplication window makes a repeated INSERT of the same rows (a retry after an answer
    // that was lost: a timeout, a reset) a no-op, as replicated tables do by default: the server
    // remembers the last 1000 inserted blocks' hashes. 18.16 has no such setting.
    ...(modern ? ['TTL intervalStartTime + toIntervalDay(90)', 'SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000'] : []),
  ].join('\n');
}
