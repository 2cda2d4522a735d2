// The reader skips the read that would return 0 for files the kernel makes whole on the first
// read (procfs/read.ts, WHOLE_IN_ONE_READ). Checked on the real kernel, in a quiet namespace the
// test makes (its counters do not move between two reads): each such file's first read is all of
// it; and a multi-record file (net/dev with many interfaces) is not, which is why it stays out.
import * as fs from 'fs';
import { ProcReader, WHOLE_IN_ONE_READ, wholeInOneRead } from '../../src/procfs/read';
import { describeRoot } from '../helpers/env';
import { NetnsProc, killAllNetns, spawnInNetns } from '../helpers/netns';

const PAIRS = 40; // 80 interfaces, ~130 bytes a line in net/dev: well past one 4 KiB page (no dummy module here: veth pairs)

describeRoot('files read whole in one read, on the real kernel', () => {
  let ns: NetnsProc;
  const big = Buffer.alloc(256 * 1024);

  beforeAll(async () => {
    ns = await spawnInNetns({}, 20_000, `for i in $(seq ${PAIRS}); do ip link add a$i type veth peer name b$i; done`);
  }, 30_000);
  afterAll(killAllNetns);

  const withFd = <T>(file: string, fn: (fd: number) => T): T => {
    const fd = fs.openSync(`/proc/${ns.pid}/net/${file}`, 'r');
    try {
      return fn(fd);
    } finally {
      fs.closeSync(fd);
    }
  };

  it.each([...WHOLE_IN_ONE_READ])('%s: the first read from offset 0 returns all of it; the next returns nothing', (file) => {
    expect(wholeInOneRead(`/proc/${ns.pid}/net/${file}`)).toBe(true);
    withFd(file, (fd) => {
      const first = fs.readSync(fd, big, 0, big.length, 0);
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(big.length);
      expect(fs.readSync(fd, big, 0, big.length, first)).toBe(0);
      const reader = new ProcReader();
      const once = reader.readFd(fd, true);
      expect(once).toBe(reader.readFd(fd, false)); // the same text as reading until a read returns 0
      expect(once.length).toBe(first);
      expect(new ProcReader(16).readFd(fd, true)).toBe(once); // a buffer too small still grows to all of it
    });
  });

  it('net/dev with many interfaces comes in page-sized reads: it is read until a read returns 0', () => {
    expect(wholeInOneRead(`/proc/${ns.pid}/net/dev`)).toBe(false);
    withFd('dev', (fd) => {
      const first = fs.readSync(fd, big, 0, big.length, 0);
      const all = new ProcReader().readFd(fd);
      expect(all.split('\n').filter((l) => /^\s*[ab]\d+:/.test(l))).toHaveLength(2 * PAIRS);
      expect(first).toBeLessThan(all.length); // one read short of the buffer, and still not the end
    });
  });
});
