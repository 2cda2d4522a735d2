// sockstat/sockstat6 → inuse, timewait, total, udp per namespace; orphan and memory host-wide.
//
// Kernel facts (README.md, "The six statistics"; verified on 6.x): `TCP: inuse`, `tw`, `UDP: inuse` and
// `sockets: used` are kept per network namespace. `TCP: orphan`, `alloc`, `mem` and `UDP: mem`
// are global counters: every namespace shows the host's number. They are emitted only for the
// host target so no container ever appears to own them. `tw` covers IPv4 and IPv6 (sockstat6 has
// no tw field); TCP6/UDP6 `inuse` are IPv6 only and must be added to the IPv4 line.
import { Sample, Target } from '../core/model';
import { NetFiles } from './netfiles';
import { Collector } from './collector';
import { sumParts } from './fields';

export class SockstatCollector implements Collector {
  readonly name = 'sockstat';

  collect(target: Target, files: NetFiles): Sample[] {
    const v4 = files.sockstat();
    const v6 = files.sockstat6();
    const out: Sample[] = [];
    const gauge = (key: string, value: number | undefined, hostWide = false): void => {
      if (value !== undefined) out.push({ key, value, kind: 'gauge', ...(hostWide ? { hostWide } : {}) });
    };
    const missing: string[] = [];
    // Fields every kernel since 2.6 writes: absent means the file is damaged, which is reported.
    const field = (s: typeof v4 | undefined, proto: string, name: string): number | undefined => {
      const v = s?.[proto]?.[name];
      if (v === undefined && s !== undefined) missing.push(`${proto}${s === v6 ? '(6)' : ''} ${name}`);
      return v;
    };

    gauge('inuse', sumParts(field(v4, 'TCP', 'inuse'), v6, field(v6, 'TCP6', 'inuse')));
    gauge('timewait', field(v4, 'TCP', 'tw'));
    gauge('total', field(v4, 'sockets', 'used'));
    gauge('udp', sumParts(field(v4, 'UDP', 'inuse'), v6, field(v6, 'UDP6', 'inuse')));

    if (target.scope === 'host') {
      gauge('orphan', field(v4, 'TCP', 'orphan'), true);
      gauge('tcp_alloc', field(v4, 'TCP', 'alloc'), true);
      gauge('tcp_mem_pages', field(v4, 'TCP', 'mem'), true);
      gauge('udp_mem_pages', field(v4, 'UDP', 'mem'), true);
    }
    if (missing.length > 0) files.malformed(missing.some((m) => m.includes('(6)')) ? 'sockstat6' : 'sockstat', missing);
    return out;
  }
}
