// The /proc scan a cold CRI cycle uses for new sandboxes' pause processes: which process it takes
// for a sandbox, and what it leaves to the status call. Cgroup text is real: a pause of the
// private containerd (cgroupfs driver, cgroup_parent set; cgroup v1+v2 hybrid).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ProcReader } from '../../src/procfs/read';
import { parseCgroup } from '../../src/discover/cgroup';
import { listPids, scanSandboxes } from '../../src/discover/cri/sandbox-scan';

const CAPTURED = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'cri', 'cgroup-pause-cgroupfs.txt'), 'utf8');
const CAPTURED_ID = '58bfe8407070d65a614534078021b9f0932da14ca95298a6421a57ecc3da4199';
const id = (c: string) => c.repeat(64);
const HOST = 4026531833;
const withId = (sandbox: string) => CAPTURED.split(CAPTURED_ID).join(sandbox);

let root: string;
const proc = (pid: number, netns: number, cgroup: string) => {
  fs.mkdirSync(path.join(root, String(pid), 'ns'), { recursive: true });
  fs.symlinkSync(`net:[${netns}]`, path.join(root, String(pid), 'ns', 'net'));
  fs.writeFileSync(path.join(root, String(pid), 'cgroup'), cgroup);
};
const scan = (wanted: string[], skip: number[] = []) =>
  scanSandboxes(new ProcReader(), root, listPids(root), new Set(wanted), HOST, new Set(skip));

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-sbscan-'));
  fs.mkdirSync(path.join(root, 'self'));
  proc(1, HOST, '0::/init.scope\n');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('listPids', () => {
  it('lists pids in ascending order, not by name (a pause at 998 comes before its container at 1002)', () => {
    for (const pid of [1002, 998, 30000, 4, 100001]) proc(pid, 4026532001, '0::/\n');
    expect(listPids(root)).toEqual(['1', '4', '998', '1002', '30000', '100001']);
  });
});

describe('scanSandboxes', () => {
  it('finds each wanted sandbox\'s pause outside the host namespace, with its namespace', () => {
    proc(100, 4026532001, CAPTURED);
    proc(101, 4026532001, withId(id('c'))); // the pod's app container: same namespace, own cgroup
    proc(200, 4026532002, withId(id('a')));
    expect(scan([CAPTURED_ID, id('a')])).toEqual(
      new Map([
        [CAPTURED_ID, { pid: 100, netns: 4026532001 }],
        [id('a'), { pid: 200, netns: 4026532002 }],
      ]),
    );
  });

  it('leaves a sandbox whose process is in the host namespace (hostNetwork; CRI-O\'s conmon) to its status', () => {
    proc(100, HOST, `0::/kubepods.slice/crio-conmon-${id('b')}.scope\n`);
    proc(101, HOST, withId(id('b')));
    expect(scan([id('b')]).size).toBe(0);
  });

  it('leaves a sandbox whose pause is in a cgroup the parser does not know to its status', () => {
    proc(100, 4026532001, '0::/sockpulse-cri-x/elsewhere\n');
    proc(101, 4026532001, withId(id('c'))); // its app: passed over with the namespace
    expect(scan([id('b')]).size).toBe(0);
  });

  it('takes the pause when a container of its pod has a pid that sorts before it by name', () => {
    proc(998, 4026532001, withId(id('a')));
    proc(1002, 4026532001, withId(id('c'))); // the app container, started after its pause
    expect(scan([id('a')])).toEqual(new Map([[id('a'), { pid: 998, netns: 4026532001 }]]));
  });

  it('reads one cgroup per namespace and none in known ones', () => {
    proc(100, 4026532001, withId(id('a')));
    proc(101, 4026532001, withId(id('b'))); // not the namespace's first process: not read
    proc(200, 4026532002, withId(id('c')));
    expect([...scan([id('b'), id('c')], [4026532002]).keys()]).toEqual([]);
  });

  it('skips processes gone during the scan', () => {
    fs.mkdirSync(path.join(root, '300'));
    proc(400, 4026532004, withId(id('d')));
    expect(scan([id('d')]).get(id('d'))).toEqual({ pid: 400, netns: 4026532004 });
  });
});

it('parses the captured pause cgroup (containerd, cgroup parent set, cgroupfs driver)', () => {
  expect(parseCgroup(CAPTURED)).toEqual({ id: CAPTURED_ID, podUid: '842f0106-2e57-436d-9cf5-c2dbd768015c' });
});
