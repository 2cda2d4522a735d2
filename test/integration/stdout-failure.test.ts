// stdout and stderr that cannot be written (a reader that has gone, a full disk) against the built
// CLI: the daemon and its other sinks go on (here Open-Falcon, test/helpers/falcon-receiver.ts),
// stdout's failure is counted (dropped reason write_error) and logged once, and `--once | head`
// ends quietly with the status of a tool ended by SIGPIPE.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../helpers/env';
import { FIXTURE_ROOT } from '../helpers/pipeline';
import { FalconReceiver } from '../helpers/falcon-receiver';

const BIN = path.join(REPO_ROOT, 'bin', 'sockpulse.js');
const ARGS = ['--discovery', 'procfs', '--proc-root', FIXTURE_ROOT];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Stdio = 'pipe' | 'ignore' | number;

/** The built CLI with stdout and stderr as given ('pipe' or an open fd); falcon pushes to `url`. */
function cli(args: string[], stdout: Stdio, stderr: Stdio, url?: string) {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...(url ? { SOCKPULSE_FALCON_ENABLED: 'true', SOCKPULSE_FALCON_URL: url } : {}) };
  const child = spawn(process.execPath, [BIN, ...ARGS, ...args], { stdio: ['ignore', stdout, stderr], env });
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exit, stderr: () => err };
}

/** Distinct cycles (timestamps) the receiver got so far. */
const cycles = (r: FalconReceiver) => new Set(r.items.map((i) => i.timestamp)).size;

async function waitCycles(r: FalconReceiver, child: ChildProcess, n: number, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (cycles(r) < n) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the agent exited (${child.exitCode ?? child.signalCode})`);
    if (Date.now() > end) throw new Error(`only ${cycles(r)} cycles arrived in ${ms} ms`);
    await sleep(100);
  }
}

/** The last stdout write_error count pushed to Open-Falcon. */
function writeErrors(r: FalconReceiver): number[] {
  return r.items
    .filter((i) => i.metric === 'sockpulse.agent.sink.dropped' && i.tags.sink === 'stdout' && i.tags.reason === 'write_error')
    .map((i) => i.value);
}

const logLines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; code?: string });

describe('a failing stdout is the stdout sink\'s failure only', () => {
  let receiver: FalconReceiver;
  beforeEach(async () => {
    receiver = await FalconReceiver.start();
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('stdout on /dev/full: the daemon and the Falcon sink go on; logged once, counted as write_error', async () => {
    const full = fs.openSync('/dev/full', 'w');
    const a = cli(['--interval', '1'], full, 'pipe', receiver.agentUrl);
    fs.closeSync(full);
    await waitCycles(receiver, a.child, 4);
    a.child.kill('SIGTERM');
    expect(await a.exit).toEqual({ code: 0, signal: null });
    const said = logLines(a.stderr()).filter((l) => /stdout/.test(l.msg));
    expect(said).toEqual([expect.objectContaining({ level: 40, code: 'ENOSPC', msg: expect.stringMatching(/cannot write to stdout/) })]);
    expect(a.stderr()).not.toMatch(/\n\s+at /); // no stack trace
    const counts = writeErrors(receiver);
    expect(counts.length).toBeGreaterThanOrEqual(2); // the batch of a cycle carries the earlier cycles' drops
    expect(counts.at(-1)).toBeGreaterThan(counts[0]); // every cycle's lines are counted
  });

  it('stdout to a pipe whose reader left after the first cycle (| head): the daemon and the Falcon sink go on', async () => {
    const a = cli(['--interval', '1'], 'pipe', 'pipe', receiver.agentUrl);
    await new Promise((resolve) => a.child.stdout!.once('data', resolve));
    a.child.stdout!.destroy();
    const before = cycles(receiver);
    await waitCycles(receiver, a.child, before + 3);
    expect(a.child.exitCode).toBeNull();
    a.child.kill('SIGTERM');
    expect(await a.exit).toEqual({ code: 0, signal: null });
    const said = logLines(a.stderr()).filter((l) => /stdout/.test(l.msg));
    expect(said).toEqual([expect.objectContaining({ level: 40, code: 'EPIPE', msg: expect.stringMatching(/its reader has gone/) })]);
    expect(a.stderr()).not.toMatch(/\n\s+at /);
    expect(writeErrors(receiver).at(-1)).toBeGreaterThan(0);
  });

  it('--once with its reader gone (--once | head) exits quietly with 141 (128 + SIGPIPE), after the other sinks delivered', async () => {
    const a = cli(['--once'], 'pipe', 'pipe', receiver.agentUrl);
    a.child.stdout!.destroy();
    expect(await a.exit).toEqual({ code: 141, signal: null });
    expect(a.stderr()).not.toMatch(/EPIPE|stdout|\n\s+at /);
    expect(cycles(receiver)).toBe(1);
  });
});

describe('a failing stderr (the log) does not end the process', () => {
  let receiver: FalconReceiver;
  beforeEach(async () => {
    receiver = await FalconReceiver.start();
  });
  afterEach(async () => {
    await receiver.close();
  });

  // pino already stops logging on EPIPE (its destination's own error filter); any other error
  // (ENOSPC) was re-emitted unheard and ended the process.
  it.each([
    ['on /dev/full', () => fs.openSync('/dev/full', 'w') as Stdio],
    ['to a pipe whose reader has gone', () => 'pipe' as Stdio],
  ])('stderr %s: the daemon keeps delivering and exits 0 on SIGTERM', async (_what, open) => {
    const fd = open();
    const a = cli(['--interval', '1', '--log-level', 'debug'], 'ignore', fd, receiver.agentUrl);
    if (typeof fd === 'number') fs.closeSync(fd);
    else a.child.stderr!.destroy();
    await waitCycles(receiver, a.child, 3);
    a.child.kill('SIGTERM');
    expect(await a.exit).toEqual({ code: 0, signal: null });
  });
});
