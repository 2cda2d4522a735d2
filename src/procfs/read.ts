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
  read(path: string): string {
    const fd = fs.openSync(path, 'r');
    try {
      return this.readFd(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The whole content of an open file, read from offset 0 (pread: a kept fd regenerates). */
  readFd(fd: number): string {
    let len = 0;
    for (;;) {
      if (len === this.buf.length) this.grow();
      const n = fs.readSync(fd, this.buf, len, this.buf.length - len, len);
      if (n === 0) break;
      len += n;
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
