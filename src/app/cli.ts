// Command line: flags, --once or daemon, exit codes (0 ok, 1 the cycle had errors or the agent
// failed, 2 bad usage or configuration).
import * as os from 'os';
import { parseArgs } from 'util';
import { ConfigError, loadConfig } from '../config/load';
import { runDaemon } from './daemon';
import { createLogger } from '../core/log';
import { runOnce, version } from './pipeline';

const USAGE = `Usage: sockpulse [options]

Collects per-network-namespace connection statistics for every container on this host.

Options:
  -c, --config FILE      configuration file (YAML or JSON)
      --once             run one cycle, print it, exit (0 ok, 1 the cycle had errors)
      --interval N|CRON  collection interval in seconds, or a cron expression
      --discovery MODE   auto | docker | procfs | netns
      --format FMT       table | json
      --proc-root DIR    proc filesystem to read (default /proc)
      --log-level LEVEL  fatal | error | warn | info | debug | trace | silent
      --print-config     print the effective configuration and exit
  -h, --help             this text
  -V, --version          the version

Every option can also be set in the configuration file or the environment (SOCKPULSE_*);
flags win over the environment, which wins over the file.
`;

/** Flag name → configuration key. */
const FLAG_KEYS = {
  interval: 'interval',
  discovery: 'discovery.mode',
  format: 'output.format',
  'proc-root': 'discovery.proc_root',
  'log-level': 'log.level',
} as const;

export async function main(argv: string[]): Promise<number> {
  let flags: ReturnType<typeof parse>;
  try {
    flags = parse(argv);
  } catch (err) {
    process.stderr.write(`sockpulse: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  let loaded: ReturnType<typeof loadConfig>;
  const overrides = Object.fromEntries(Object.entries(FLAG_KEYS).map(([flag, key]) => [key, flags[flag as keyof typeof FLAG_KEYS]]));
  try {
    loaded = loadConfig({ file: flags.config, overrides });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`sockpulse: invalid configuration: ${err.message}\n`);
    return 2;
  }
  if (flags['print-config']) {
    process.stdout.write(`${loaded.printable()}\n`);
    return 0;
  }
  const r = loaded.resolved;
  const log = createLogger(r.logLevel);
  if (flags.once) {
    // `--once | head`: the reader left before the output was written. Exit quietly, with the
    // status a shell reports for a tool ended by SIGPIPE (as `yes | head -1`).
    let readerGone = false;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => (readerGone ||= err.code === 'EPIPE'));
    const code = await runOnce(r, log);
    return readerGone ? 128 + os.constants.signals.SIGPIPE : code;
  }
  // SIGHUP reloads from the same file, environment and flags.
  return runDaemon(r, log, () => loadConfig({ file: flags.config, overrides }).resolved);
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      once: { type: 'boolean' },
      interval: { type: 'string' },
      discovery: { type: 'string' },
      format: { type: 'string' },
      'proc-root': { type: 'string' },
      'log-level': { type: 'string' },
      'print-config': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  return values;
}
