// Older kernels keep `TCP: tw` (before 4.11) and `sockets: used` (before 4.16) for the whole host:
// per boundary, real sockstat text read under a release string on each side of it. Below a
// boundary the field is the host's, once, on the host target, and absent for a container; from
// it on, it is each namespace's own.
import * as fs from 'fs';
import * as path from 'path';
import { kernelScope, parseKernelRelease } from '../../src/collect/kernel-scope';
import { sockstatCollector } from '../../src/collect/sockstat';
import { NetFiles } from '../../src/collect/netfiles';
import { KeptFiles } from '../../src/procfs/kept';
import { ProcReader } from '../../src/procfs/read';
import { Target } from '../../src/core/model';
import { makeProcTree } from '../helpers/proc-tree';

const K = path.join(__dirname, '..', 'fixtures', 'kernel', '6.18');
const read = (f: string): string => fs.readFileSync(path.join(K, f), 'latin1');

describe('parseKernelRelease', () => {
  it.each([
    ['3.10.0-1160.el7.x86_64', { major: 3, minor: 10, patch: 0 }],
    ['4.15.0-213-generic', { major: 4, minor: 15, patch: 0 }],
    ['4.14.35-2047.510.5.el7uek.x86_64', { major: 4, minor: 14, patch: 35 }],
    ['5.10.0-0.deb10.16-amd64', { major: 5, minor: 10, patch: 0 }],
    ['6.18.44-fc-v1252', { major: 6, minor: 18, patch: 44 }],
    ['4.16', { major: 4, minor: 16, patch: 0 }],
    ['4.11.0+', { major: 4, minor: 11, patch: 0 }],
  ])('%s', (release, want) => {
    expect(parseKernelRelease(release)).toEqual(want);
  });

  it.each([[''], ['linux'], ['v4.15'], ['12345.1.0'], ['4']])('%j is not a version', (release) => {
    expect(parseKernelRelease(release)).toBeUndefined();
  });
});

describe('kernelScope', () => {
  it.each([
    ['3.10.0-1160.el7.x86_64', ['timewait', 'total']],
    ['4.10.17', ['timewait', 'total']],
    ['4.11.0', ['total']],
    ['4.15.0-213-generic', ['total']],
    ['4.16.0', []],
    ['6.18.44-fc-v1252', []],
    ['not-a-release', ['timewait', 'total']],
  ])('%s: host-wide %j', (release, keys) => {
    const s = kernelScope(release);
    expect(s.hostWide.map((b) => b.key)).toEqual(keys);
    if (keys.length === 0) expect(s.notice).toBeUndefined();
    else expect(s.notice).toMatch(new RegExp(`${keys.join(', ')} reported once for the host`));
  });

  it('the notice names the fields and why', () => {
    expect(kernelScope('4.15.0-213-generic').notice).toBe(
      'kernel 4.15.0-213-generic is older than the versions that keep these fields per namespace: total reported once for the host (host-wide), absent per container; ' +
        'sockstat sockets: used is per namespace only since Linux 4.16 (648845ab7e20 "sock: Move the socket inuse to namespace." (Tonghao Zhang))',
    );
  });
});

describe('sockstat on either side of each boundary', () => {
  const host = { pid: 1, netns: 4026531840, scope: 'host' as const };
  const pod = { pid: 300, netns: 4026532300, scope: 'container' as const };
  // Real 6.18 text: the host's sockstat says used 35 / tw 0, the pod's used 18 / tw 3.
  const tree = makeProcTree([
    { ...host, net: { sockstat: read('host.sockstat'), sockstat6: read('host.sockstat6') } },
    { ...pod, net: { sockstat: read('mix.sockstat'), sockstat6: read('mix.sockstat6') } },
  ]);
  afterAll(() => tree.remove());

  /** scope:key → value for each target, read under `release`. */
  function collect(release: string): Record<string, number>[] {
    const collector = sockstatCollector(release);
    const files = new KeptFiles(new ProcReader());
    try {
      return tree.targets.map((t: Target) =>
        Object.fromEntries(collector.collect(t, new NetFiles(files, tree.dir, t)).map((s) => [`${s.def.scope}:${s.def.key}`, s.value])),
      );
    } finally {
      files.closeAll();
    }
  }

  it.each([
    // [release, the pod's per-namespace keys, the host target's host-wide timewait/total]
    ['4.10.17', ['namespace:inuse', 'namespace:udp'], { 'host:timewait': 0, 'host:total': 35 }],
    ['4.11.0', ['namespace:inuse', 'namespace:timewait', 'namespace:udp'], { 'host:total': 35 }],
    ['4.15.0-213-generic', ['namespace:inuse', 'namespace:timewait', 'namespace:udp'], { 'host:total': 35 }],
    ['4.16.0', ['namespace:inuse', 'namespace:timewait', 'namespace:total', 'namespace:udp'], {}],
    ['3.10.0-1160.el7.x86_64', ['namespace:inuse', 'namespace:udp'], { 'host:timewait': 0, 'host:total': 35 }],
  ])('%s', (release, podKeys, hostWide) => {
    const [h, p] = collect(release);
    expect(Object.keys(p).sort()).toEqual(podKeys);
    if (podKeys.includes('namespace:timewait')) expect(p['namespace:timewait']).toBe(3);
    if (podKeys.includes('namespace:total')) expect(p['namespace:total']).toBe(18);
    const hostOnly = Object.fromEntries(Object.entries(h).filter(([k]) => k === 'host:timewait' || k === 'host:total'));
    expect(hostOnly).toEqual(hostWide);
    // the host's own namespace stats never carry a host-wide number
    expect('namespace:total' in h).toBe(!('host:total' in hostWide));
    expect('namespace:timewait' in h).toBe(!('host:timewait' in hostWide));
  });

  it('says it once', () => {
    const c = sockstatCollector('4.15.0-213-generic');
    expect(c.takeNotices!()).toHaveLength(1);
    expect(c.takeNotices!()).toEqual([]);
    expect(sockstatCollector('6.18.44').takeNotices!()).toEqual([]);
  });
});
