// Synchronous reads of tiny proc files into one reused buffer.
// Measured: fs.promises costs a thread-pool hop per file (~3-4x the CPU of a plain read at 1000
// namespaces), so the hot path reads synchronously.
import * as fs from 'fs';
import { decimalAt } from './lines';

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
 * When a read that returned less than asked for is known to be the end of the file, so the read
 * that would return 0 is not made (~2 µs each from Node; 7 files per namespace per cycle):
 * - single_open seq files (sockstat, sockstat6, snmp, netstat, snmp6) and /proc/sys values are
 *   made whole by one show() into a buffer grown until it fits: any short read is the end;
 * - multi-record seq files (net/dev, stat/nf_conntrack) fill one read until the next record would
 *   overflow the seq buffer (at least one 4 KiB page; a record of these files is under 512
 *   bytes): a read shorter than 4096 - 512 bytes stopped at the end, a longer one may not have.
 * Anything else (tcp tables, regular files) is read until a read returns 0. The bench's C floor
 * (bench/floor.c) reads with the same bounds; test/integration/one-read.test.ts checks them on
 * the real kernel.
 */
export const SHORT_READ_IS_END: ReadonlyMap<string, number> = new Map([
  ...['sockstat', 'sockstat6', 'snmp', 'netstat', 'snmp6'].map((f) => [f, Infinity] as const),
  ['dev', 4096 - 512],
  ['stat/nf_conntrack', 4096 - 512],
]);

/** SHORT_READ_IS_END for a file under a net/ directory (`name`: `dev`, `stat/nf_conntrack`); 0: none. */
export function shortReadIsEnd(name: string): number {
  return SHORT_READ_IS_END.get(name) ?? 0;
}

/** The same for a path (`<root>/<pid>/net/<name>`, `<root>/sys/...`), as the bench's floor needs it. */
export function shortReadIsEndAt(path: string): number {
  if (path.includes('/sys/')) return Infinity;
  const m = /\/net\/(.+)$/.exec(path);
  return m ? shortReadIsEnd(m[1]) : 0;
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
  read(path: string, endBelow = 0): string {
    const len = this.fillPath(path, endBelow); // first: the buffer may grow, and be another one
    return this.buf.toString('latin1', 0, len);
  }

  /** Reads the file into `buffer`; returns its length. */
  fillPath(path: string, endBelow = 0): number {
    const fd = fs.openSync(path, 'r');
    try {
      return this.fill(fd, endBelow);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * The whole content of an open file, read from offset 0 (pread: a kept fd regenerates).
   * `endBelow`: a read shorter than the room given and than this many bytes is the end
   * (SHORT_READ_IS_END); 0: read until a read returns 0.
   */
  readFd(fd: number, endBelow = 0): string {
    const len = this.fill(fd, endBelow); // first: the buffer may grow, and be another one
    return this.buf.toString('latin1', 0, len);
  }

  /** readFd's reading without the string: the content is `buffer`'s first bytes; returns their count. */
  fill(fd: number, endBelow = 0): number {
    let len = 0;
    for (;;) {
      if (len === this.buf.length) this.grow();
      const room = this.buf.length - len;
      const n = fs.readSync(fd, this.buf, len, room, len);
      len += n;
      if (n === 0 || (n < room && n < endBelow)) break;
    }
    return len;
  }

  /** Where fill() and fillPath() leave the content: valid until the next read. */
  get buffer(): Buffer {
    return this.buf;
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
  // `net:[<digits>]`, checked without a regular expression (one link per pid per cycle).
  const n = link.startsWith('net:[') && link.endsWith(']') ? decimalAt(link, 5, link.length - 1) : undefined;
  if (n === undefined) throw Object.assign(new Error(`unexpected namespace link "${link}"`), { code: 'EBADNSLINK' });
  return n;
}
