// stdout: each cycle printed as a table or as one JSON document per line (`output` keys). Always
// on in --once, which is what --once is for.
import { SinkPlugin } from '../plugin';
import { StdoutConfig } from './settings';


export type { StdoutConfig };

export const stdout: SinkPlugin<StdoutConfig> = {
  name: 'stdout',
  once: 'always',
  config: {
    path: 'output',
    schema: {
      enabled: { doc: 'Print every cycle to stdout (always on with --once).', format: Boolean, default: true, env: 'SOCKPULSE_OUTPUT_ENABLED' },
      format: {
        doc: 'stdout format: table (one line per namespace) or json (one document per cycle, one per line).',
        format: ['table', 'json'],
        default: 'table',
        env: 'SOCKPULSE_FORMAT',
      },
    },
    resolve: (raw) => ({ format: raw.format as StdoutConfig['format'] }),
  },
  create(cfg, ctx) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { StdoutSink } = require('./sink') as typeof import('./sink');
    return new StdoutSink(cfg.format, ctx.catalog, process.stdout, { log: ctx.log, counters: () => ctx.counters, once: ctx.once });
  },
};
