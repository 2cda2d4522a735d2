// chdb — a current ClickHouse embedded in a Node addon — installed by test/setup/deps-clickhouse.sh
// into .build/chdb (never a dependency of the project: ~550 MB). Its `chdb/connection` is a
// Connection for @clickhouse/client (experimental upstream): the same client and the same sink
// code, with the engine in this process instead of behind HTTP.
import fs from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, ToolGate, requireTool } from './env';

export const CHDB_DIR = path.join(BUILD_DIR, 'chdb');

export function chdb(): ToolGate {
  return requireTool('chdb', fs.existsSync(path.join(CHDB_DIR, 'node_modules', 'chdb', 'package.json')), `${CHDB_DIR}: run \`bash test/setup/deps-clickhouse.sh\``);
}

/** chdb's createChdbConnection, loaded from the build folder. */
export function chdbConnection(dbPath: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(require.resolve('chdb/connection', { paths: [CHDB_DIR] })) as { createChdbConnection(o: { path: string }): unknown };
  return mod.createChdbConnection({ path: dbPath });
}
