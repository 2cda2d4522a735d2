// Proves the test infrastructure: the namespaces the helpers make hold exactly the sockets
// expectedStats() claims, read straight from /proc with fs (no project code involved).
import fs from 'node:fs';
import { describeDocker, describeRoot } from '../helpers/env';
import { pauseContainer, removeContainer, runContainer, runSockmix, unpauseContainer } from '../helpers/dockerd';
import { killAllNetns, netnsInode, spawnInNetns } from '../helpers/netns';
import { ExpectedStats, Mix, expectedStats } from '../helpers/sockmix';

// Every kind, v4 and v6, distinct counts so a mix-up between fields shows.
const MIX: Mix = {
  listen4: 2, listen6: 3, estab4: 4, estab6: 5, timewait4: 6, timewait6: 7,
  closewait4: 1, closewait6: 2, udp4: 3, udp6: 4, unix: 2,
};

/** Minimal inline reading of sockstat, sockstat6 and snmp for one pid. */
function readStats(pid: number): ExpectedStats {
  const s4 = fs.readFileSync(`/proc/${pid}/net/sockstat`, 'utf8');
  const s6 = fs.readFileSync(`/proc/${pid}/net/sockstat6`, 'utf8');
  const snmp = fs.readFileSync(`/proc/${pid}/net/snmp`, 'utf8');
  const field = (text: string, line: string, key: string): number => {
    const l = text.split('\n').find((x) => x.startsWith(`${line}:`));
    const m = l && new RegExp(`\\b${key} (\\d+)`).exec(l);
    if (!m) throw new Error(`no ${line} ${key} in /proc/${pid}/net`);
    return Number(m[1]);
  };
  const tcp = snmp.split('\n').filter((l) => l.startsWith('Tcp:')).map((l) => l.split(/\s+/));
  const established = Number(tcp[1][tcp[0].indexOf('CurrEstab')]);
  const tcp4 = field(s4, 'TCP', 'inuse');
  const tcp6 = field(s6, 'TCP6', 'inuse');
  const udp4 = field(s4, 'UDP', 'inuse');
  const udp6 = field(s6, 'UDP6', 'inuse');
  return {
    established,
    inuse: tcp4 + tcp6,
    timewait: field(s4, 'TCP', 'tw'),
    total: field(s4, 'sockets', 'used'),
    udp: udp4 + udp6,
    tcp4_inuse: tcp4,
    tcp6_inuse: tcp6,
    udp4_inuse: udp4,
    udp6_inuse: udp6,
  };
}

describeRoot('unshare -n namespace with sockmix', () => {
  afterAll(killAllNetns);

  it('shows exactly expectedStats(mix)', async () => {
    const ns = await spawnInNetns(MIX);
    expect(readStats(ns.pid)).toEqual(expectedStats(MIX, 'netns'));
    expect(ns.netnsInode).not.toBe(netnsInode(process.pid));
    await ns.kill();
    expect(fs.existsSync(`/proc/${ns.pid}`)).toBe(false);
  });

  it('an empty mix is an empty namespace', async () => {
    const ns = await spawnInNetns({});
    expect(readStats(ns.pid)).toEqual(expectedStats({}, 'netns'));
    await ns.kill();
  });
});

describeDocker('docker container with sockmix', () => {
  const ids: string[] = [];
  afterAll(async () => {
    await Promise.all(ids.map(removeContainer));
  });

  it('an idle container shows only the baseline (sockets: used 1)', async () => {
    const c = await runContainer({ cmd: ['sleep', '3600'] });
    ids.push(c.id);
    expect(readStats(c.pid)).toEqual(expectedStats({}, 'docker'));
    expect(expectedStats({}, 'docker').total).toBe(1);
  });

  it('a sockmix container (IPv6 on) shows exactly expectedStats(mix); also while paused', async () => {
    const c = await runSockmix(MIX, { labels: { role: 'infra-test' } });
    ids.push(c.id);
    const want = expectedStats(MIX, 'docker');
    expect(readStats(c.pid)).toEqual(want);
    await pauseContainer(c.id);
    expect(readStats(c.pid)).toEqual(want);
    await unpauseContainer(c.id);

    // A second container joined to its namespace adds nothing and sees the same numbers.
    const member = await runContainer({ cmd: ['sleep', '3600'], network: `container:${c.id}` });
    ids.push(member.id);
    expect(netnsInode(member.pid)).toBe(netnsInode(c.pid));
    expect(readStats(member.pid)).toEqual(want);
  });

  it('without ipv6, a v6 mix fails loudly instead of hanging', async () => {
    await expect(runContainer({ cmd: ['/bin/sockmix', '--listen6', '1'] })).rejects.toThrow(/listen6: Cannot assign/);
  });
});
