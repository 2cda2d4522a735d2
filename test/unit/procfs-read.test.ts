// unlessGone: the one place that turns "the process left / the file is absent" (ENOENT, ESRCH)
// into undefined, on real files and a real process's /proc entry; any other error still throws.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ProcReader, netnsInode, unlessGone } from '../../src/procfs/read';

describe('unlessGone', () => {
  const reader = new ProcReader();

  it('returns what the read returns', () => {
    expect(unlessGone(() => reader.read('/proc/self/stat'))).toMatch(/^\d+ \(/);
    expect(unlessGone(() => netnsInode('/proc', process.pid))).toBeGreaterThan(0);
  });

  it('is undefined for a file that is not there, and for a process that has exited', () => {
    expect(unlessGone(() => reader.read(path.join(os.tmpdir(), `sp-absent-${process.pid}`)))).toBeUndefined();
    // A child that exited and was reaped: its /proc entry is gone (unless a neighbour got its pid: try again).
    let gone = spawnSync('true').pid!;
    for (let i = 0; i < 5 && fs.existsSync(`/proc/${gone}`); i++) gone = spawnSync('true').pid!;
    expect(fs.existsSync(`/proc/${gone}`)).toBe(false);
    expect(unlessGone(() => netnsInode('/proc', gone))).toBeUndefined();
    expect(unlessGone(() => reader.read(`/proc/${gone}/stat`))).toBeUndefined();
  });

  it('throws any other error', () => {
    expect(() => unlessGone(() => reader.read(os.tmpdir()))).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});
