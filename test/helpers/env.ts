// What the test run has: root or not, CI or not, and the private Docker engine that
// test/setup/global-setup.ts started (published through a small JSON file).
//
// Policy: root-only suites, and tests that run a real tool (promtool, systemd-analyze,
// VictoriaMetrics), are skipped (loudly) ONLY on a developer machine that is not root and not CI.
// Under CI=true a missing prerequisite fails the suite: CI must never skip. As root the setup
// (test/setup/prepare.sh) installs every tool, so a tool still missing fails the suite too.
import fs from 'node:fs';

export { BUILD_DIR, ENV_FILE, ENV_VAR, REPO_ROOT, TEST_IMAGE, TEST_LABEL } from './paths';
import { ENV_FILE, ENV_VAR } from './paths';

export interface DockerEnv {
  /** Unix socket of the private dockerd (dockerode `socketPath`). */
  socketPath: string;
  /** Locally imported test image: busybox (sh, sleep, cat, nc) + /bin/sockmix. */
  image: string;
}

/** Content of the env file written by global-setup. */
export interface TestEnv {
  docker?: DockerEnv;
  /** Why no engine was started (not root). */
  skipped?: string;
  dockerdPid?: number;
  /** Temp dir holding dockerd's data-root, exec-root, socket and log. */
  tmpDir?: string;
  /** Pid of the jest process that ran global-setup (stale-run detection). */
  ownerPid?: number;
}

export const isRoot: boolean = typeof process.getuid === 'function' && process.getuid() === 0;
export const isCI: boolean = process.env.CI === 'true';

export function readTestEnv(): TestEnv | undefined {
  const file = process.env[ENV_VAR] || ENV_FILE;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TestEnv;
  } catch {
    return undefined;
  }
}

function loud(msg: string): void {
  console.warn(`\n${'#'.repeat(78)}\n# SKIPPED: ${msg}\n${'#'.repeat(78)}\n`);
}

/**
 * True when root-only tests can run. False (with a loud warning) when they must be skipped
 * on a developer machine; throws under CI=true when not root.
 */
export function requireRoot(what = 'root-only tests'): boolean {
  if (isRoot) return true;
  if (isCI) throw new Error(`CI=true but not root: ${what} cannot run (and must not be skipped)`);
  loud(`${what}: not running as root`);
  return false;
}

/**
 * The private engine, or undefined when docker tests must be skipped (not root, not CI).
 * Throws when the engine should be there but is not (root, or CI=true).
 */
export function dockerEnv(): DockerEnv | undefined {
  if (!requireRoot('docker tests')) return undefined;
  const env = readTestEnv();
  if (env?.docker && fs.existsSync(env.docker.socketPath)) return env.docker;
  throw new Error(
    `no private Docker engine for this run (${env?.skipped ?? 'global-setup did not publish one'}); ` +
      `see test/setup/global-setup.ts`,
  );
}

type SuiteFn = () => void;

/** `describe` for suites that need root; `describe.skip` (loudly) only when not root and not CI. */
export function describeRoot(name: string, fn: SuiteFn): void {
  if (requireRoot(`suite "${name}"`)) describe(name, fn);
  else describe.skip(name, fn);
}

/** Tests that run a real tool: registered with `describe`/`it` when the tool is there. */
export interface ToolGate {
  readonly present: boolean;
  /** `describe`, or `describe.skip` when the tool is missing on a developer machine. */
  describe(name: string, fn: SuiteFn): void;
  /** `it`, or `it.skip` when the tool is missing on a developer machine. */
  it(name: string, fn: jest.ProvidesCallback, timeout?: number): void;
}

/**
 * The one way to make tests depend on a real tool. Present: the tests run. Missing: throws (the
 * suite fails) under CI=true or as root; on a developer machine (not root, not CI) the tests are
 * skipped, with a loud warning. Never a test that passes without the tool (`if (found) expect…`).
 */
export function requireTool(tool: string, present: boolean, install: string): ToolGate {
  if (!present) {
    const why = `${tool} is missing: ${install}`;
    if (isCI) throw new Error(`CI=true: ${why} (tests that need it must not be skipped)`);
    if (isRoot) throw new Error(`${why} (as root the setup installs it, so it must not be skipped)`);
    loud(`tests that need ${tool} (not root, not CI): ${why}`);
  }
  return {
    present,
    describe: (name, fn) => (present ? describe(name, fn) : describe.skip(name, fn)),
    it: (name, fn, timeout) => (present ? it(name, fn, timeout) : it.skip(name, fn, timeout)),
  };
}

/** `describe` for suites that need the private Docker engine (and root). */
export function describeDocker(name: string, fn: SuiteFn): void {
  if (dockerEnv()) describe(name, fn);
  else describe.skip(name, fn);
}
