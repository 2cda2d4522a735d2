// Containers on the private test engine started by test/setup/global-setup.ts.
// No bridge exists on that engine: containers default to --network none (own netns, lo only).
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { TEST_LABEL, dockerEnv } from './env';
import { Mix, SOCKMIX_IN_IMAGE, mixArgs } from './sockmix';

export type Network = 'none' | 'host' | `container:${string}`;

export interface RunOptions {
  /** Default: a unique `spt-<hex>` (workers share the engine, so names must not clash). */
  name?: string;
  /** Command in the test image: busybox applets (sh, sleep, cat, nc, …) or /bin/sockmix. */
  cmd: string[];
  /** Default 'none'. */
  network?: Network;
  /** Added to `sockpulse.test=1`. */
  labels?: Record<string, string>;
  /** Enable IPv6 on lo (sysctls all/lo.disable_ipv6=0); only for a network of its own. */
  ipv6?: boolean;
  /** Wait for sockmix's "ready" line; default: true when cmd[0] is sockmix. */
  waitReady?: boolean;
  readyTimeoutMs?: number;
}

export interface RunningContainer {
  id: string;
  name: string;
  /** State.Pid: the container's init process as seen from the host. */
  pid: number;
}

let client: Docker | undefined;

/** dockerode client for the private engine (throws when there is none; see env.ts). */
export function docker(): Docker {
  if (!client) {
    const env = dockerEnv();
    if (!env) throw new Error('no private Docker engine (suite should have been skipped)');
    client = new Docker({ socketPath: env.socketPath });
  }
  return client;
}

export function testImage(): string {
  const env = dockerEnv();
  if (!env) throw new Error('no private Docker engine (suite should have been skipped)');
  return env.image;
}

export function uniqueName(prefix = 'spt'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll the container's log until sockmix says "ready" (or "error:", or it exits). */
async function waitReady(c: Docker.Container, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // No TTY: the log is multiplexed (8-byte frame headers), harmless for a substring search.
    const log = (await c.logs({ stdout: true, stderr: true, follow: false })).toString('latin1');
    if (/\bready \d+/.test(log)) return;
    const state = (await c.inspect()).State;
    if (/error:/.test(log) || !state.Running) {
      throw new Error(`container ${c.id.slice(0, 12)} not ready (${state.Status}, exit ${state.ExitCode}): ${log.replace(/[\0-\x08]/g, '').trim()}`);
    }
    if (Date.now() > deadline) throw new Error(`container ${c.id.slice(0, 12)}: no "ready" in ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function runContainer(opts: RunOptions): Promise<RunningContainer> {
  const name = opts.name ?? uniqueName();
  const network = opts.network ?? 'none';
  const isSockmix = /(^|\/)sockmix$/.test(opts.cmd[0] ?? '');
  const sysctls = opts.ipv6
    ? { 'net.ipv6.conf.all.disable_ipv6': '0', 'net.ipv6.conf.lo.disable_ipv6': '0' }
    : undefined;
  const c = await docker().createContainer({
    name,
    Image: testImage(),
    Cmd: opts.cmd,
    Labels: { [TEST_LABEL]: '1', ...opts.labels },
    HostConfig: { NetworkMode: network, Sysctls: sysctls, AutoRemove: false },
  });
  try {
    await c.start();
    if (opts.waitReady ?? isSockmix) await waitReady(c, opts.readyTimeoutMs ?? 15_000);
    const info = await c.inspect();
    if (!info.State.Running || !info.State.Pid) throw new Error(`container ${name} is not running (${info.State.Status})`);
    return { id: c.id, name, pid: info.State.Pid };
  } catch (err) {
    await c.remove({ force: true }).catch(() => undefined);
    throw err;
  }
}

/** A container running sockmix with that mix (ipv6 on when the mix has v6 sockets). */
export function runSockmix(mix: Mix, opts: Partial<RunOptions> = {}): Promise<RunningContainer> {
  const v6 = !!(mix.listen6 || mix.estab6 || mix.timewait6 || mix.closewait6 || mix.udp6);
  return runContainer({ ipv6: v6 && (opts.network ?? 'none') === 'none', ...opts, cmd: [SOCKMIX_IN_IMAGE, ...mixArgs(mix)] });
}

/** Force-remove (kills if running); a container already gone is fine. */
export async function removeContainer(id: string): Promise<void> {
  try {
    await docker().getContainer(id).remove({ force: true });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

export async function pauseContainer(id: string): Promise<void> {
  await docker().getContainer(id).pause();
}

export async function unpauseContainer(id: string): Promise<void> {
  await docker().getContainer(id).unpause();
}
