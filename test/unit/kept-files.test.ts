// KeptFiles (src/procfs/kept.ts) and ProcReader (src/procfs/read.ts) on real files: a temp dir
// for exact contents, /proc/self/net/sockstat for the seq_file regeneration a kept descriptor
// relies on. Descriptors are counted in /proc/self/fd, by the path they point to, so the
// worker's other descriptors do not matter.
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeptFiles } from '../../src/procfs/kept';
import { ProcReader, unlessGone } from '../../src/procfs/read';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-kept-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A file in the temp dir with `text`; its path. */
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

/**
 * How many of this process's descriptors point to `p`. A /proc/<pid>/net entry is looked up afresh
 * every time (its dentry revalidation fails), so a descriptor kept on it reads "… (deleted)"
 * once the path has been looked up again, while it still reads the live file.
 */
function fdsTo(p: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, '') === p) n++;
    } catch {
      /* the descriptor readdir itself used, closed since */
    }
  }
  return n;
}

/** Descriptors this process holds on the temp dir's files: the kept ones (other suites' /proc files aside). */
function keptFds(): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const l = fs.readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, '');
      if (l.startsWith(`${dir}/`)) n++;
    } catch {
      /* the descriptor readdir itself used, closed since */
    }
  }
  return n;
}

/** KeptFiles.read of a whole path (the collect stage gives the directory and the name apart). */
const readAt = (k: KeptFiles, p: string, identity: string): string => k.read(identity, `${path.dirname(p)}/`, path.basename(p));

const kept: KeptFiles[] = [];
function keptFiles(maxOpen?: number): KeptFiles {
  const k = new KeptFiles(new ProcReader(), maxOpen);
  kept.push(k);
  return k;
}
afterEach(() => {
  for (const k of kept.splice(0)) k.closeAll();
});

describe('KeptFiles', () => {
  it('opens a file once and re-reads it through the same descriptor, seeing each new content', () => {
    const a = file('a', 'one\n');
    const k = keptFiles();
    expect(fdsTo(a)).toBe(0);
    expect(readAt(k, a, 'ns1')).toBe('one\n');
    expect([keptFds(), fdsTo(a)]).toEqual([1, 1]);
    fs.writeFileSync(a, 'two, longer\n'); // same inode: truncated and rewritten
    expect(readAt(k, a, 'ns1')).toBe('two, longer\n');
    fs.writeFileSync(a, '3\n'); // shorter: nothing of the previous content is left over
    expect(readAt(k, a, 'ns1')).toBe('3\n');
    expect([keptFds(), fdsTo(a)]).toEqual([1, 1]);
  });

  it('keeps one descriptor per path and identity: a reused pid never reads through the old one', () => {
    const a = file('a', 'A');
    const b = file('b', 'B');
    const k = keptFiles();
    readAt(k, a, 'ns1');
    readAt(k, b, 'ns1');
    readAt(k, a, 'ns2');
    readAt(k, a, 'ns1');
    expect([keptFds(), fdsTo(a), fdsTo(b)]).toEqual([3, 2, 1]);
  });

  it('sweep closes what was not read since the last sweep, and keeps what was', () => {
    const a = file('a', 'A');
    const b = file('b', 'B');
    const k = keptFiles();
    readAt(k, a, 'ns1');
    readAt(k, b, 'ns1');
    k.sweep();
    expect([keptFds(), fdsTo(a), fdsTo(b)]).toEqual([2, 1, 1]);
    readAt(k, a, 'ns1');
    k.sweep();
    expect([keptFds(), fdsTo(a), fdsTo(b)]).toEqual([1, 1, 0]);
    k.sweep(); // a cycle that read nothing
    expect([keptFds(), fdsTo(a)]).toEqual([0, 0]);
    expect(readAt(k, a, 'ns1')).toBe('A'); // opened again when needed
    expect(fdsTo(a)).toBe(1);
  });

  it('forget closes every descriptor of one identity and no other', () => {
    const a = file('a', 'A');
    const b = file('b', 'B');
    const k = keptFiles();
    readAt(k, a, 'ns1');
    readAt(k, b, 'ns1');
    readAt(k, a, 'ns10'); // an identity that ends like another one
    readAt(k, b, 'ns2');
    k.forget('ns1');
    expect([keptFds(), fdsTo(a), fdsTo(b)]).toEqual([2, 1, 1]);
    k.forget('ns10');
    k.forget('ns2');
    k.forget('never-seen');
    expect([keptFds(), fdsTo(a), fdsTo(b)]).toEqual([0, 0, 0]);
  });

  it('past maxOpen keeps no descriptor but still reads every file, and keeps again once one is swept', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => file(n, `content of ${n}\n`));
    const k = keptFiles(2);
    expect(readAt(k, a, 'ns1')).toBe('content of a\n');
    expect(readAt(k, b, 'ns1')).toBe('content of b\n');
    expect(readAt(k, c, 'ns1')).toBe('content of c\n');
    expect([keptFds(), fdsTo(a), fdsTo(b), fdsTo(c)]).toEqual([2, 1, 1, 0]);
    fs.writeFileSync(c, 'changed\n');
    expect(readAt(k, c, 'ns1')).toBe('changed\n'); // opened and closed per read
    expect(readAt(k, c, 'ns2')).toBe('changed\n');
    expect([keptFds(), fdsTo(c)]).toEqual([2, 0]);

    k.sweep(); // end of a cycle that read a, b and c: a and b stay kept
    expect([keptFds(), fdsTo(a), fdsTo(b)]).toEqual([2, 1, 1]);
    readAt(k, a, 'ns1');
    k.sweep(); // b was not read this cycle: its slot is free
    expect(readAt(k, c, 'ns1')).toBe('changed\n');
    expect([keptFds(), fdsTo(a), fdsTo(b), fdsTo(c)]).toEqual([2, 1, 0, 1]);
  });

  it('maxOpen 0 never keeps a descriptor', () => {
    const a = file('a', 'A');
    const k = keptFiles(0);
    expect([readAt(k, a, 'ns1'), readAt(k, a, 'ns1'), keptFds(), fdsTo(a)]).toEqual(['A', 'A', 0, 0]);
  });

  it('a missing file throws ENOENT and keeps nothing', () => {
    const k = keptFiles();
    expect(() => readAt(k, path.join(dir, 'gone'), 'ns1')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(keptFds()).toBe(0);
  });

  it('a read that fails closes that descriptor and throws', () => {
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub); // open(2) of a directory works; read(2) fails with EISDIR
    const a = file('a', 'A');
    const k = keptFiles();
    readAt(k, a, 'ns1');
    expect(() => readAt(k, sub, 'ns1')).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect([keptFds(), fdsTo(sub), fdsTo(a)]).toEqual([1, 0, 1]);
  });

  it('closeAll closes everything', () => {
    const a = file('a', 'A');
    const b = file('b', 'B');
    const k = keptFiles();
    readAt(k, a, 'ns1');
    readAt(k, b, 'ns2');
    k.closeAll();
    expect([keptFds(), fdsTo(a), fdsTo(b)]).toEqual([0, 0, 0]);
  });

  it('a kept /proc/self/net/sockstat descriptor regenerates its numbers on every read', async () => {
    const sockstat = '/proc/self/net/sockstat';
    const udpInuse = (text: string): number => Number(/^UDP: inuse (\d+)/m.exec(text)![1]);
    const k = keptFiles();
    const before = readAt(k, sockstat, 'self');
    const target = fs.realpathSync(sockstat); // /proc/<pid>/net/sockstat
    expect(fdsTo(target)).toBe(1);

    // 50 UDP sockets of our own; other processes in this namespace may open or close a few meanwhile.
    const N = 50;
    const socks = await Promise.all(
      Array.from({ length: N }, () => new Promise<dgram.Socket>((resolve) => {
        const s = dgram.createSocket('udp4');
        s.bind(0, '127.0.0.1', () => resolve(s));
      })),
    );
    let during: string;
    try {
      during = readAt(k, sockstat, 'self');
    } finally {
      await Promise.all(socks.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    }
    const after = readAt(k, sockstat, 'self');
    expect(fdsTo(target)).toBe(1); // the same descriptor all along
    expect(udpInuse(during) - udpInuse(before)).toBeGreaterThanOrEqual(N - 10);
    expect(udpInuse(during) - udpInuse(after)).toBeGreaterThanOrEqual(N - 10);
    expect(during).toMatch(/^sockets: used \d+\nTCP: inuse \d+ orphan \d+ tw \d+ alloc \d+ mem \d+\nUDP: inuse \d+ mem \d+\n/);
  });
});

describe('ProcReader', () => {
  const text = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(33 + (i % 90))).join('');

  it.each([16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 100 * 1024 + 7])('reads a %i-byte file whole (the buffer starts at 16 KiB)', (size) => {
    const p = file('big', text(size));
    const r = new ProcReader();
    expect(r.read(p)).toBe(text(size));
    const fd = fs.openSync(p, 'r');
    try {
      expect(r.readFd(fd)).toBe(text(size)); // pread from 0, on a descriptor as KeptFiles uses it
      expect(r.readFd(fd)).toBe(text(size));
    } finally {
      fs.closeSync(fd);
    }
  });

  it('after growing, reads a small file exactly (nothing of the big one left over), and a 1-byte start buffer grows too', () => {
    const big = file('big', text(40 * 1024));
    const small = file('small', 'sockets: used 3\n');
    const r = new ProcReader();
    expect(r.read(big)).toBe(text(40 * 1024));
    expect(r.read(small)).toBe('sockets: used 3\n');
    expect(r.read(big)).toBe(text(40 * 1024));
    expect(new ProcReader(1).read(big)).toBe(text(40 * 1024));
    expect(r.read(file('empty', ''))).toBe('');
  });

  it('reads bytes as latin1, one character per byte', () => {
    const p = path.join(dir, 'bytes');
    fs.writeFileSync(p, Buffer.from([0x41, 0xe9, 0xff, 0x00, 0x0a]));
    expect(new ProcReader().read(p)).toBe('A\u00e9\u00ff\u0000\n');
  });

  it('unlessGone(read): undefined for a missing file, the error for anything else', () => {
    const r = new ProcReader();
    expect(unlessGone(() => r.read(path.join(dir, 'gone')))).toBeUndefined();
    expect(() => unlessGone(() => r.read(dir))).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});
