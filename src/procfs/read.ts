// Synchronous reads of tiny proc files into one reused buffer.
// Measured: fs.promises costs a thread-pool hop per file (~3-4x the CPU of a plain read at 1000
// namespaces), so the hot path reads synchronously.
import * as fs from 'fs';

/** Codes meaning "this process (or its /proc entry) is gone", not "something is broken". */
const GONE_CODES = new Set(['ENOENT', 'ESRCH']);

export function isGone(err: unknown): boolean {
  return GONE_CODES.has((err as NodeJS.ErrnoException)?.code ?? '');
}

/** fn's result, or undefined when what it reads is gone (ENOENT, ESRCH): absent, not an error. */
export function unlessGone<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/**
 * Files the kernel makes whole on the first read from offset 0 (single_open seq_files: one show()
 * writes all of it into a buffer grown until it fits; and /proc/sys values). A first read that
 * returns less than was asked for has returned all of it, so the read that would return 0 is not
 * made: 5 of the 7 files per namespace, ~2 µs each from Node (BENCHMARKS.md). Multi-record seq
 * files (net/dev, stat/nf_conntrack, tcp) stop a read at a page boundary and are read to the end.
 * The bench's C floor (bench/floor.c) reads with the same rule.
 */
export const WHOLE_IN_ONE_READ: ReadonlySet<string> = new Set(['sockstat', 'sockstat6', 'snmp', 'netstat', 'snmp6']);

/** Whether the file at `path` (`<root>/<pid>/net/<name>`, `<root>/sys/...`) is one WHOLE_IN_ONE_READ describes. */
export function wholeInOneRead(path: string): boolean {
  const slash = path.lastIndexOf('/');
  return (WHOLE_IN_ONE_READ.has(path.slice(slash + 1)) && path.slice(0, slash).endsWith('/net')) || path.includes('/sys/');
}

export function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
}

/**
 * Reads whole small files, reusing one buffer. Not shared between concurrent users: the agent
 * is single-threaded and a read never yields, so one instance per agent is enough.
 */
export class ProcReader {
  private buf: Buffer;

  constructor(initialSize = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Returns the file's text, or throws the fs error (ENOENT when the file or process is gone). */
  read(path: string, whole = false): string {
    const fd = fs.openSync(path, 'r');
    try {
      return this.readFd(fd, whole);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * The whole content of an open file, read from offset 0 (pread: a kept fd regenerates). `whole`:
   * the file comes whole in one read (wholeInOneRead), so a read short of the buffer is the end.
   */
  readFd(fd: number, whole = false): string {
    let len = 0;
    for (;;) {
      if (len === this.buf.length) this.grow();
      const room = this.buf.length - len;
      const n = fs.readSync(fd, this.buf, len, room, len);
      len += n;
      if (n === 0 || (whole && n < room)) break;
    }
    return this.buf.toString('latin1', 0, len);
  }

  private grow(): void {
    const next = Buffer.allocUnsafe(this.buf.length * 2);
    this.buf.copy(next);
    this.buf = next;
  }
}

/** nsfs inode of a process's network namespace, from the `net:[4026531840]` link. */
export function netnsInode(procRoot: string, pid: number): number {
  return parseNsLink(fs.readlinkSync(`${procRoot}/${pid}/ns/net`));
}

export function parseNsLink(link: string): number {
  const m = /^net:\[(\d+)\]$/.exec(link);
  if (!m) throw Object.assign(new Error(`unexpected namespace link "${link}"`), { code: 'EBADNSLINK' });
  return Number(m[1]);
}
