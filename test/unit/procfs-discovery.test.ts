// ProcfsDiscovery remembers each process's container and start time while it stays in the same
// namespace (steady state reads no cgroup or stat file), and forgets it as soon as it does not.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ProcfsDiscovery, RECHECK_CYCLES } from '../../src/discover/procfs';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'proctree');
let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-proc-'));
  fs.cpSync(FIXTURE, root, { recursive: true, verbatimSymlinks: true });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const discovery = () => new ProcfsDiscovery({ procRoot: root, copyLabels: [], filter: () => true, hasIncludeFilter: false });
const containerOf = async (d: ProcfsDiscovery, pid: number) => (await d.discover()).targets.find((t) => t.pid === pid)?.containers.map((c) => c.id.slice(0, 4));
const moveToNetns = (pid: number, inode: number) => {
  fs.unlinkSync(path.join(root, String(pid), 'ns', 'net'));
  fs.symlinkSync(`net:[${inode}]`, path.join(root, String(pid), 'ns', 'net'));
};

describe('ProcfsDiscovery cache', () => {
  it('does not re-read the cgroup of a process still in the same namespace', async () => {
    const d = discovery();
    expect(await containerOf(d, 300)).toEqual(['4e3e']);
    fs.writeFileSync(path.join(root, '300', 'cgroup'), `0::/docker/${'f'.repeat(64)}\n`);
    fs.writeFileSync(path.join(root, '301', 'cgroup'), `0::/docker/${'f'.repeat(64)}\n`);
    expect(await containerOf(d, 300)).toEqual(['4e3e']); // remembered
    expect(await containerOf(discovery(), 300)).toEqual(['ffff']); // a fresh instance reads it
  });

  it('reads a process afresh when its pid shows up in another namespace', async () => {
    const d = discovery();
    await d.discover();
    fs.writeFileSync(path.join(root, '500', 'cgroup'), `0::/docker/${'e'.repeat(64)}\n`);
    fs.writeFileSync(path.join(root, '500', 'stat'), fs.readFileSync(path.join(root, '500', 'stat'), 'utf8').replace(' 7000 ', ' 7777 '));
    moveToNetns(500, 4026532999);
    const t = (await d.discover()).targets.find((x) => x.pid === 500)!;
    expect(t).toMatchObject({ netns: 4026532999, pidStart: 7777, scope: 'container' });
    expect(t.containers.map((c) => c.id)).toEqual(['e'.repeat(64)]);
  });

  it(`re-reads every cgroup within ${RECHECK_CYCLES} cycles, a few each cycle (a pid reused inside a live namespace)`, async () => {
    const d = discovery();
    const first = await d.discover();
    const pids = first.targets.flatMap((t) => (t.scope === 'host' ? [] : [t.pid]));
    const other = 'f'.repeat(64);
    for (const pid of pids) fs.writeFileSync(path.join(root, String(pid), 'cgroup'), `0::/docker/${other}\n`);
    const renamed: number[] = [];
    for (let cycle = 2; cycle <= RECHECK_CYCLES + 1; cycle++) {
      const ts = (await d.discover()).targets.filter((t) => t.containers.some((c) => c.id === other));
      renamed.push(ts.length);
    }
    expect(renamed[0]).toBeLessThan(pids.length); // not all at once…
    expect(renamed[renamed.length - 1]).toBe(pids.length); // …but every one within the bound
  });

  it('forgets processes that are gone', async () => {
    const d = discovery();
    await d.discover();
    fs.rmSync(path.join(root, '500'), { recursive: true });
    expect((await d.discover()).targets.some((t) => t.pid === 500)).toBe(false);
  });
});

describe('ProcfsDiscovery skipped', () => {
  /** A process under the proc root: its namespace link (or, for `link: false`, a file there instead) and, when `alive`, its stat and cgroup. */
  const proc = (pid: number, o: { netns?: number; alive?: boolean }) => {
    const dir = path.join(root, String(pid));
    fs.mkdirSync(path.join(dir, 'ns'), { recursive: true });
    if (o.netns === undefined) fs.writeFileSync(path.join(dir, 'ns', 'net'), ''); // readlink fails with EINVAL: not "gone"
    else fs.symlinkSync(`net:[${o.netns}]`, path.join(dir, 'ns', 'net'));
    if (o.alive) fs.copyFileSync(path.join(root, '500', 'stat'), path.join(dir, 'stat'));
  };

  it('counts namespaces whose processes all left before they could be read, once each', async () => {
    proc(900, { netns: 4026532900 }); // gone: no stat, no cgroup
    proc(901, { netns: 4026532901 });
    proc(902, { netns: 4026532901 }); // the same namespace, also gone
    const r = await discovery().discover();
    expect(r.targets.some((t) => t.netns === 4026532900 || t.netns === 4026532901)).toBe(false);
    expect(r.skipped).toBe(2);
  });

  it('does not count processes whose namespace link cannot be read: they are not namespaces', async () => {
    for (const pid of [910, 911, 912]) proc(pid, {});
    const r = await discovery().discover();
    expect(r.errors).toEqual([]); // root: a few refusing processes are not an error
    expect(r.skipped).toBe(0);
  });
});
