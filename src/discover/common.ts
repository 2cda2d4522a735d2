// Options and error shapes shared by the discovery sources.
import * as fs from 'fs';
import { ContainerRef, DiscoveryResult, StageError } from '../core/model';
import { errnoCode } from '../procfs/read';
import { WatchSettings } from './watch';

export interface DiscoveryOptions {
  procRoot: string;
  copyLabels: readonly string[];
  filter: (c: ContainerRef) => boolean;
  /** With an include filter set, namespaces that hold no known container are left out. */
  hasIncludeFilter: boolean;
  /** discovery.watch: follow the runtime's events instead of listing every cycle (docker, cri). Absent: off. */
  watch?: WatchSettings;
}

/** Whether this process holds CAP_SYS_PTRACE (bit 19 of CapEff), read once. */
let ptraceCap: boolean | undefined;
export function hasPtraceCap(): boolean {
  if (ptraceCap === undefined) {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    ptraceCap = m ? (BigInt(`0x${m[1]}`) & (1n << 19n)) !== 0n : false;
  }
  return ptraceCap;
}

/**
 * Processes whose namespace link could not be read. Without CAP_SYS_PTRACE that is a setup
 * error (every other user's process is unreadable): one error that says what to grant. With it,
 * the few processes that still refuse (a protected init) are skipped, not errors.
 */
export function deniedErrors(denied: { pid: number; code: string }[]): StageError[] {
  return denied.length > 0 && !hasPtraceCap() ? [deniedError(denied)] : [];
}

function deniedError(denied: { pid: number; code: string }[]): StageError {
  const sample = denied.slice(0, 5).map((d) => d.pid).join(', ');
  return {
    stage: 'discover',
    code: denied[0].code,
    message:
      `cannot read the network namespace of ${denied.length} process(es) (${denied[0].code}; pids ${sample}` +
      `${denied.length > 5 ? ', …' : ''}): run as root or grant CAP_SYS_PTRACE`,
  };
}

/** A source that could not produce even the host target: no targets, one error. */
export function failed(source: string, err: unknown, subject: string): DiscoveryResult {
  return {
    targets: [],
    errors: [{ stage: 'discover', code: errnoCode(err), message: `${source}: ${(err as Error).message}`, subject }],
    source,
    skipped: 0,
  };
}
