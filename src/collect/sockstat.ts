// sockstat/sockstat6 → inuse, timewait, total, udp per namespace; orphan and memory host-wide.
//
// Kernel facts (verified on 6.x; README.md "The six statistics"): `TCP: inuse`, `tw`, `UDP: inuse`
// and `sockets: used` are kept per network namespace. `TCP: orphan`, `alloc`, `mem` and
// `UDP: mem` are global counters: every namespace shows the host's number. They are declared
// `host`-scoped, so the collect stage keeps them on the host target only and no container ever
// appears to own them. `tw` covers IPv4 and IPv6 (sockstat6 has no tw field); TCP6/UDP6 `inuse`
// are IPv6 only and must be added to the IPv4 line.
// On kernels older than 4.11 (`tw`) and 4.16 (`sockets: used`) those two are host-wide too
// (collect/kernel-scope.ts): they are then reported like orphan, once on the host target under
// host-wide definitions of the same key, and are absent for every container.
import * as os from 'os';
import { MetricDef, hostGauge, kernelPageSize, namespaceGauge } from '../core/metrics';
import { Sample } from '../core/model';
import { Sockstat } from '../procfs/sockstat';
import { Collector, CollectorPlugin } from './collector';
import { sumParts } from './fields';
import { kernelScope } from './kernel-scope';

const inuse = namespaceGauge({
  key: 'inuse', falcon: 'inuse', prom: 'sockpulse_tcp_inuse', otel: 'sockpulse.tcp.inuse', unit: '{socket}',
  help: 'TCP sockets in use (listening and connected, not TIME_WAIT), IPv4+IPv6', source: 'sockstat TCP: inuse + sockstat6 TCP6: inuse',
});
const timewait = namespaceGauge({
  key: 'timewait', falcon: 'timewait', prom: 'sockpulse_tcp_timewait', otel: 'sockpulse.tcp.timewait', unit: '{socket}', agent: 'ss.timewait',
  help: 'TCP sockets in TIME_WAIT, IPv4+IPv6', source: 'sockstat TCP: tw',
});
const total = namespaceGauge({
  key: 'total', falcon: 'total', prom: 'sockpulse_sockets_used', otel: 'sockpulse.sockets.used', unit: '{socket}',
  help: 'Sockets of every family in use (TCP, UDP, unix, netlink, …), not TIME_WAIT', source: 'sockstat sockets: used',
});
const udp = namespaceGauge({
  key: 'udp', falcon: 'udp.inuse', prom: 'sockpulse_udp_inuse', otel: 'sockpulse.udp.inuse', unit: '{socket}',
  help: 'UDP sockets in use, IPv4+IPv6', source: 'sockstat UDP: inuse + sockstat6 UDP6: inuse',
});
const hostTimewait = hostGauge({
  key: 'timewait', falcon: 'host.timewait', prom: 'sockpulse_host_tcp_timewait', otel: 'sockpulse.host.tcp.timewait', unit: '{socket}',
  help: 'TCP sockets in TIME_WAIT, whole host (kernels before 4.11 only)', source: 'sockstat TCP: tw (host-wide before Linux 4.11)',
});
const hostTotal = hostGauge({
  key: 'total', falcon: 'host.total', prom: 'sockpulse_host_sockets_used', otel: 'sockpulse.host.sockets.used', unit: '{socket}',
  help: 'Sockets of every family in use, whole host (kernels before 4.16 only)', source: 'sockstat sockets: used (host-wide before Linux 4.16)',
});
const orphan = hostGauge({
  key: 'orphan', falcon: 'host.orphaned', prom: 'sockpulse_host_tcp_orphans', otel: 'sockpulse.host.tcp.orphans', unit: '{socket}',
  help: 'Orphaned TCP sockets (no process), whole host', source: 'sockstat TCP: orphan (host-wide)',
});
const tcpAlloc = hostGauge({
  key: 'tcp_alloc', falcon: 'host.tcp_alloc', prom: 'sockpulse_host_tcp_allocated', otel: 'sockpulse.host.tcp.allocated', unit: '{socket}',
  help: 'TCP sockets allocated, whole host', source: 'sockstat TCP: alloc (host-wide)',
});
const tcpMem = hostGauge({
  key: 'tcp_mem_pages', falcon: 'host.tcp_mem_pages', prom: 'sockpulse_host_tcp_memory_bytes', otel: 'sockpulse.host.tcp.memory', unit: 'By',
  help: 'Memory used by TCP buffers, whole host (Falcon/StatsD: pages)', source: 'sockstat TCP: mem (host-wide, pages)',
}, kernelPageSize());
const udpMem = hostGauge({
  key: 'udp_mem_pages', falcon: 'host.udp_mem_pages', prom: 'sockpulse_host_udp_memory_bytes', otel: 'sockpulse.host.udp.memory', unit: 'By',
  help: 'Memory used by UDP buffers, whole host (Falcon/StatsD: pages)', source: 'sockstat UDP: mem (host-wide, pages)',
}, kernelPageSize());

export const sockstat: CollectorPlugin<void> = {
  name: 'sockstat',
  doc: 'TCP sockets in use and in TIME_WAIT, sockets of every family, UDP sockets; host-wide orphans and memory (sockstat, sockstat6)',
  defaultEnabled: true,
  priority: 90,
  series: { namespace: '4 (3 before Linux 4.16, 2 before 4.11)', host: '4 (5 before Linux 4.16, 6 before 4.11)' },
  metrics: [inuse, timewait, total, udp, orphan, tcpAlloc, tcpMem, udpMem, hostTimewait, hostTotal],
  create: () => sockstatCollector(os.release()),
};

/** The collector for a kernel release (os.release(); tests give others). */
export function sockstatCollector(release: string): Collector {
  const scope = kernelScope(release);
  const hostWide = new Set(scope.hostWide.map((b) => b.key));
  const notices = scope.notice ? [scope.notice] : [];
  return {
    takeNotices: () => notices.splice(0),
    collect(target, files) {
      const v4 = files.sockstat();
      const v6 = files.sockstat6();
      const out: Sample[] = [];
      const put = (def: MetricDef, value: number | undefined): void => {
        if (value !== undefined) out.push({ def, value });
      };
      const missing: string[] = [];
      // Fields every kernel since 2.6 writes: absent means the file is damaged, which is reported.
      const field = (s: Sockstat | undefined, proto: string, name: string): number | undefined => {
        const v = s?.[proto]?.[name];
        if (v === undefined && s !== undefined) missing.push(`${proto}${s === v6 ? '(6)' : ''} ${name}`);
        return v;
      };

      put(inuse, sumParts(field(v4, 'TCP', 'inuse'), v6, field(v6, 'TCP6', 'inuse')));
      // A field host-wide on this kernel: the host-wide definition on the host target, nothing on a container.
      const own = (key: string, perNs: MetricDef, host: MetricDef, value: number | undefined): void => {
        if (!hostWide.has(key)) put(perNs, value);
        else if (target.scope === 'host') put(host, value);
      };
      own('timewait', timewait, hostTimewait, field(v4, 'TCP', 'tw'));
      own('total', total, hostTotal, field(v4, 'sockets', 'used'));
      put(udp, sumParts(field(v4, 'UDP', 'inuse'), v6, field(v6, 'UDP6', 'inuse')));
      if (target.scope === 'host') {
        put(orphan, field(v4, 'TCP', 'orphan'));
        put(tcpAlloc, field(v4, 'TCP', 'alloc'));
        put(tcpMem, field(v4, 'TCP', 'mem'));
        put(udpMem, field(v4, 'UDP', 'mem'));
      }
      if (missing.length > 0) files.malformed(missing.some((m) => m.includes('(6)')) ? 'sockstat6' : 'sockstat', missing);
      return out;
    },
  };
}
