// Real kernel, real traffic: the protocols and interfaces collectors against numbers the test
// makes happen in namespaces of its own (`unshare -n` through sockmix), exactly.
//
// - A listener with backlog 0 that never accepts and 6 clients (sockmix --overflow4): one waits in
//   the accept queue, 5 SYNs overflow it.
// - A veth pair between two namespaces, IPv6 off on both ends (no router solicitation, DAD or
//   MLD), a permanent neighbour entry (no ARP) and no route back from B to A (B cannot answer
//   with ICMP): the only frames on the link are the N datagrams A sends, each
//   14 (Ethernet) + 20 (IPv4) + 8 (UDP) + P bytes on the wire as /proc/net/dev counts them.
import { execFileSync } from 'node:child_process';
import { CollectStage, activeCollector, defaultCollectors } from '../../src/collect/stage';
import { ProcfsDiscovery } from '../../src/discover/procfs';
import { interfaces } from '../../src/collect/interfaces';
import { protocols } from '../../src/collect/protocols';
import { Target } from '../../src/core/model';
import { describeRoot } from '../helpers/env';
import { NetnsProc, spawnInNetns } from '../helpers/netns';

const discovery = new ProcfsDiscovery({ procRoot: '/proc', copyLabels: [], filter: () => true, hasIncludeFilter: false });

async function discoverOne(netns: number): Promise<Target> {
  const t = (await discovery.discover()).targets.find((x) => x.netns === netns);
  if (!t) throw new Error(`netns ${netns} not discovered`);
  return t;
}

/** `key` or `key{interface}` → value, for one target. */
function values(stage: CollectStage, t: Target): Record<string, number> {
  const out = stage.run([t]);
  expect(out.errors).toEqual([]);
  expect(out.results).toHaveLength(1);
  return Object.fromEntries(out.results[0].samples.map((s) => [s.labels ? `${s.def.key}{${s.labels.interface}}` : s.def.key, s.value]));
}

const delta = (a: Record<string, number>, b: Record<string, number>, key: string): number | undefined =>
  a[key] === undefined || b[key] === undefined ? undefined : b[key] - a[key];

function inNs(pid: number, ...cmd: string[]): string {
  return execFileSync('nsenter', ['-t', String(pid), '-n', ...cmd], { encoding: 'utf8' });
}

describeRoot('protocol and interface counters on the real kernel', () => {
  const procs: NetnsProc[] = [];
  const stages: CollectStage[] = [];
  const veth = `spkp${process.pid % 100000}`;
  afterAll(async () => {
    for (const s of stages) s.close(); // kept descriptors hold the namespaces
    await Promise.all(procs.map((p) => p.kill()));
    try {
      execFileSync('ip', ['link', 'del', `${veth}a`], { stdio: 'ignore' }); // only if the test died before moving it
    } catch {
      /* gone with its namespace, as it should be */
    }
  });
  const stage = (...cs: Parameters<typeof activeCollector>[]): CollectStage => {
    const s = new CollectStage('/proc', cs.length > 0 ? cs.map(([p, cfg]) => activeCollector(p, cfg)) : defaultCollectors());
    stages.push(s);
    return s;
  };

  it('counts a full accept queue: ListenOverflows and ListenDrops exactly, through the default selection', async () => {
    const p = await spawnInNetns({ overflow4: 6 });
    procs.push(p);
    const v = values(stage(), await discoverOne(p.netnsInode));
    expect(v).toMatchObject({
      TcpExt_ListenOverflows: 5,
      TcpExt_ListenDrops: 5,
      TcpExt_TCPSynRetrans: 0,
      tcp_active_opens: 6,
      tcp_passive_opens: 1,
      tcp_retrans_segs: 0,
      established: 2,
    });
  });

  it('counts N datagrams over a veth pair exactly: interface bytes and packets, UDP and IP counters, both ends', async () => {
    const a = await spawnInNetns({});
    const b = await spawnInNetns({});
    procs.push(a, b);
    for (const p of [a, b]) inNs(p.pid, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0');
    const [va, vb] = [`${veth}a`, `${veth}b`];
    execFileSync('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb]);
    execFileSync('ip', ['link', 'set', va, 'netns', String(a.pid)]);
    execFileSync('ip', ['link', 'set', vb, 'netns', String(b.pid)]);
    inNs(a.pid, 'ip', 'addr', 'add', '10.251.7.1/30', 'dev', va);
    inNs(b.pid, 'ip', 'addr', 'add', '10.251.7.2/32', 'dev', vb); // no route back to A: B can send nothing
    const macB = (JSON.parse(inNs(b.pid, 'ip', '-j', 'link', 'show', vb)) as { address: string }[])[0].address;
    inNs(a.pid, 'ip', 'neigh', 'replace', '10.251.7.2', 'lladdr', macB, 'dev', va, 'nud', 'permanent');
    inNs(a.pid, 'ip', 'link', 'set', va, 'up');
    inNs(b.pid, 'ip', 'link', 'set', vb, 'up');
    const up = (p: NetnsProc, dev: string) => (JSON.parse(inNs(p.pid, 'ip', '-j', 'link', 'show', dev)) as { operstate: string }[])[0].operstate === 'UP';
    for (let i = 0; !(up(a, va) && up(b, vb)); i++) {
      if (i > 100) throw new Error('veth pair not up');
      await new Promise((r) => setTimeout(r, 20));
    }

    const sel = protocols.config!.resolve({ include: ['(Tcp|Udp|IpExt|Ip)_.*'], exclude: ['Ip_(Forwarding|DefaultTTL)'], max_counters: 512 }, {});
    const ifs = interfaces.config!.resolve({ include: [], exclude: ['lo'], max_interfaces: 64 }, {});
    const s = stage([protocols, sel], [interfaces, ifs]);
    const [ta, tb] = [await discoverOne(a.netnsInode), await discoverOne(b.netnsInode)];
    const a0 = values(s, ta);
    const b0 = values(s, tb);
    expect(Object.keys(a0).filter((k) => k.includes('{lo}'))).toEqual([]); // lo is left out by default
    expect(a0[`if_tx_packets{${va}}`]).toBe(0); // nothing crossed the link yet

    const N = 37;
    const P = 100;
    inNs(a.pid, process.execPath, '-e', `
      const s = require('dgram').createSocket('udp4');
      const buf = Buffer.alloc(${P}, 120);
      let left = ${N};
      const next = () => (left-- === 0 ? s.close() : s.send(buf, 9, '10.251.7.2', (e) => { if (e) throw e; next(); }));
      next();`);
    await new Promise((r) => setTimeout(r, 200)); // veth delivers in the sender's context; a margin
    const a1 = values(s, ta);
    const b1 = values(s, tb);
    const wire = N * (14 + 20 + 8 + P);
    const ip = N * (20 + 8 + P);
    const d = (x0: Record<string, number>, x1: Record<string, number>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, delta(x0, x1, k)]));
    const ifKeys = (dev: string) => ['rx_bytes', 'rx_packets', 'rx_errors', 'rx_dropped', 'tx_bytes', 'tx_packets', 'tx_errors', 'tx_dropped'].map((k) => `if_${k}{${dev}}`);
    expect(d(a0, a1, ifKeys(va))).toEqual({
      [`if_tx_bytes{${va}}`]: wire, [`if_tx_packets{${va}}`]: N, [`if_tx_errors{${va}}`]: 0, [`if_tx_dropped{${va}}`]: 0,
      [`if_rx_bytes{${va}}`]: 0, [`if_rx_packets{${va}}`]: 0, [`if_rx_errors{${va}}`]: 0, [`if_rx_dropped{${va}}`]: 0,
    });
    expect(d(b0, b1, ifKeys(vb))).toEqual({
      [`if_rx_bytes{${vb}}`]: wire, [`if_rx_packets{${vb}}`]: N, [`if_rx_errors{${vb}}`]: 0, [`if_rx_dropped{${vb}}`]: 0,
      [`if_tx_bytes{${vb}}`]: 0, [`if_tx_packets{${vb}}`]: 0, [`if_tx_errors{${vb}}`]: 0, [`if_tx_dropped{${vb}}`]: 0,
    });
    expect(d(a0, a1, ['udp_out_datagrams', 'IpExt_OutOctets', 'Ip_OutRequests', 'udp_no_ports'])).toEqual({
      udp_out_datagrams: N, IpExt_OutOctets: ip, Ip_OutRequests: N, udp_no_ports: 0,
    });
    expect(d(b0, b1, ['udp_no_ports', 'udp_in_datagrams', 'IpExt_InOctets', 'Ip_InReceives', 'IpExt_OutOctets'])).toEqual({
      udp_no_ports: N, udp_in_datagrams: 0, IpExt_InOctets: ip, Ip_InReceives: N, IpExt_OutOctets: 0,
    });
    // Selected by the patterns: IpExt and Ip (minus the two excluded settings), not TcpExt.
    expect(a1).not.toHaveProperty('Ip_Forwarding');
    expect(a1).not.toHaveProperty('TcpExt_ListenOverflows');
    expect(a1.Tcp_MaxConn).toBe(-1); // a setting: a gauge, negative allowed
  });
});
