// A configuration that resolved but cannot be built (a TLS file removed since it was checked)
// never crashes the process: --once exits 1, the daemon does not start, and a SIGHUP reload to it
// leaves the running pipeline untouched. The unbuildable configuration here bypasses the loader.
// Signals are emitted on `process` (Jest's sandbox does not route real ones to its listeners).
import * as path from 'path';
import { Writable } from 'stream';
import type { Resolved } from '../../src/config/resolve';
import { loadConfig } from '../../src/config/load';
import { runDaemon } from '../../src/app/daemon';
import { createLogger } from '../../src/core/log';
import { runOnce } from '../../src/app/pipeline';

const ROOT = path.join(__dirname, '..', 'fixtures', 'proctree');
const good = loadConfig({
  env: { SOCKPULSE_DISCOVERY: 'procfs', SOCKPULSE_PROC_ROOT: ROOT, SOCKPULSE_OUTPUT_ENABLED: 'false', SOCKPULSE_INTERVAL: '1', SOCKPULSE_LOG_LEVEL: 'silent' },
}).resolved;
/** `good` with an enabled Falcon sink whose construction fails as a vanished TLS file would. */
const unbuildable: Resolved = {
  ...good,
  sinks: good.sinks.map((s) =>
    s.plugin.name !== 'falcon'
      ? s
      : { ...s, enabled: true, cfg: {}, plugin: { ...s.plugin, create: () => { throw new Error('sinks.falcon: /etc/tls/ca.pem: ENOENT'); } } },
  ),
};

function logLines() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(JSON.parse(String(chunk)).msg));
      cb();
    },
  });
  const until = async (re: RegExp, n = 1) => {
    for (const end = Date.now() + 10_000; lines.filter((l) => re.test(l)).length < n; await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > end) throw new Error(`no log line ${re} in ${JSON.stringify(lines)}`);
    }
  };
  return { lines, log: createLogger('info', stream), until };
}

const sighupListeners = () => process.listenerCount('SIGHUP');

describe('an agent that cannot be built', () => {
  it('--once: exit code 1, the reason logged', async () => {
    const { lines, log } = logLines();
    await expect(runOnce(unbuildable, log)).resolves.toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^cannot build the agent: sinks\.falcon: \/etc\/tls\/ca\.pem: ENOENT/)]);
  });

  it('daemon: does not start (1), and leaves no signal handler behind', async () => {
    const before = sighupListeners();
    const { lines, log } = logLines();
    await expect(runDaemon(unbuildable, log, () => good)).resolves.toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^cannot build the agent: sinks\.falcon:/)]);
    expect(sighupListeners()).toBe(before);
  });

  it('daemon: a SIGHUP reload to it leaves the running pipeline as it was, which stops cleanly', async () => {
    const { lines, log, until } = logLines();
    const done = runDaemon(good, log, () => unbuildable);
    await until(/^sockpulse started$/);
    process.emit('SIGHUP', 'SIGHUP');
    await until(/^reload refused, keeping the running configuration: the new configuration could not be built$/);
    expect(lines.filter((l) => /^sockpulse started$/.test(l))).toHaveLength(1);
    process.emit('SIGTERM', 'SIGTERM');
    await expect(done).resolves.toBe(0);
  });
});
