// The reader skips the read that would return 0 when a short read is known to be the end of the
// file (procfs/read.ts, SHORT_READ_IS_END). Checked on the real kernel, in quiet namespaces the
// test makes (their counters do not move between two reads): single_open files come whole in any
// short read; multi-record files (net/dev, stat/nf_conntrack) end at a short read under the bound,
// and a net/dev past one page (many interfaces) comes in reads above it, so it is read on.
import * as fs from 'fs';
import { ProcReader, SHORT_READ_IS_END, shortReadIsEnd, shortReadIsEndAt } from '../../src/procfs/read';
import { describeRoot } from '../helpers/env';
import { NetnsProc, killAllNetns, spawnInNetns } from '../helpers/netns';

const PAIRS = 40; // 80 interfaces, ~130 bytes a line in net/dev: well past one 4 KiB page (no dummy module here: veth pairs)

describeRoot('short reads that end a file, on the real kernel', () => {
  let quiet: NetnsProc;
  let many: NetnsProc;
  const big = Buffer.alloc(256 * 1024);

  beforeAll(async () => {
    quiet = await spawnInNetns({}, 20_000);
    many = await spawnInNetns({}, 20_000, `for i in $(seq ${PAIRS}); do ip link add a$i type veth peer name b$i; done`);
  }, 45_000);
  afterAll(killAllNetns);

  const withFd = <T>(ns: NetnsProc, file: string, fn: (fd: number) => T): T => {
    const fd = fs.openSync(`/proc/${ns.pid}/net/${file}`, 'r');
    try {
      return fn(fd);
    } finally {
      fs.closeSync(fd);
    }
  };

  it.each([...SHORT_READ_IS_END.keys()])('%s: a first read under its bound is all of it, the next read returns nothing', (file) => {
    const bound = shortReadIsEnd(file);
    expect(shortReadIsEndAt(`/proc/${quiet.pid}/net/${file}`)).toBe(bound);
    withFd(quiet, file, (fd) => {
      const first = fs.readSync(fd, big, 0, big.length, 0);
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(Math.min(big.length, bound));
      expect(fs.readSync(fd, big, 0, big.length, first)).toBe(0);
      const reader = new ProcReader();
      const once = reader.readFd(fd, bound);
      expect(once).toBe(reader.readFd(fd, 0)); // the same text as reading until a read returns 0
      expect(once.length).toBe(first);
      expect(new ProcReader(16).readFd(fd, bound)).toBe(once); // a buffer too small still grows to all of it
    });
  });

  it('net/dev past one page comes in reads above its bound: read on to the end, every interface there', () => {
    withFd(many, 'dev', (fd) => {
      const first = fs.readSync(fd, big, 0, big.length, 0);
      const all = new ProcReader().readFd(fd, shortReadIsEnd('dev'));
      expect(all.split('\n').filter((l) => /^\s*[ab]\d+:/.test(l))).toHaveLength(2 * PAIRS);
      expect(first).toBeLessThan(all.length); // a read short of the buffer, and still not the end...
      expect(first).toBeGreaterThanOrEqual(shortReadIsEnd('dev')); // ...which is why the bound is below a page less one record
    });
  });

  it('the tcp table has no bound (read until a read returns 0); /proc/sys values end at any short read', () => {
    expect(shortReadIsEnd('tcp')).toBe(0);
    expect(shortReadIsEndAt('/proc/1/net/tcp')).toBe(0);
    expect(shortReadIsEndAt('/proc/sys/net/netfilter/nf_conntrack_max')).toBe(Infinity);
  });
});
