// Which sockstat fields an older kernel keeps for the whole host although every namespace shows
// them: decided from the kernel release, so such a number is never reported as a container's.
//
// Read from the kernel sources (net/ipv4/proc.c sockstat_seq_show, net/socket.c):
// - `TCP: tw` printed the global `tcp_death_row.tw_count` up to 4.10 (3.10 and 4.10 sources) and
//   `net->ipv4.tcp_death_row.tw_count` from 4.11 (4.11 source): "ipv4: Namespaceify
//   tcp_tw_recycle and tcp_max_tw_buckets knob" (Haishuang Yan) moved the TIME_WAIT death row
//   into struct netns_ipv4.
// - `sockets: used` summed the global per-CPU `sockets_in_use` until 648845ab7e20 ("sock: Move
//   the socket inuse to namespace.", Tonghao Zhang, first in 4.16).
// - `TCP: inuse`, `UDP: inuse`, sockstat6 `TCP6`/`UDP6: inuse` (sock_prot_inuse_get(net, …)) and
//   the snmp MIBs (`Tcp: CurrEstab`, the counters: net->mib) are per namespace in 3.10 already.
// - `TCP: orphan`, `alloc`, `mem`, `UDP: mem` are global on every kernel (declared host-wide).
// Distribution kernels may carry backports; the upstream version is what is known, so a backport
// only makes sockpulse report a field once for the host where it could have split it.

export interface KernelVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface ScopeBoundary {
  /** The sample key that is per namespace from `since` on. */
  key: string;
  /** The kernel field. */
  field: string;
  since: KernelVersion;
  /** The change that made it per namespace. */
  change: string;
}

const v = (major: number, minor: number): KernelVersion => ({ major, minor, patch: 0 });

export const NAMESPACED_SINCE: readonly ScopeBoundary[] = [
  {
    key: 'timewait',
    field: 'sockstat TCP: tw',
    since: v(4, 11),
    change: '"ipv4: Namespaceify tcp_tw_recycle and tcp_max_tw_buckets knob" (Haishuang Yan): the TIME_WAIT count moved into the namespace\'s tcp_death_row',
  },
  {
    key: 'total',
    field: 'sockstat sockets: used',
    since: v(4, 16),
    change: '648845ab7e20 "sock: Move the socket inuse to namespace." (Tonghao Zhang)',
  },
];

/**
 * `major.minor[.patch]` from the start of a release string: 3.10.0-1160.el7.x86_64 → 3.10.0,
 * 4.15.0-213-generic → 4.15.0, 6.18.44-fc-v1252 → 6.18.44, 6.1 → 6.1.0. undefined when it does
 * not start that way.
 */
export function parseKernelRelease(release: string): KernelVersion | undefined {
  const m = /^\s*(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?(?!\d)/.exec(release);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

function before(a: KernelVersion, b: KernelVersion): boolean {
  return (a.major - b.major || a.minor - b.minor || a.patch - b.patch) < 0;
}

export interface KernelScope {
  /** Fields host-wide on this kernel (a release that cannot be read: all of them). */
  hostWide: ScopeBoundary[];
  /** Said once at start when some are: which fields and why; undefined when none are. */
  notice?: string;
}

export function kernelScope(release: string): KernelScope {
  const ver = parseKernelRelease(release);
  const hostWide = NAMESPACED_SINCE.filter((b) => ver === undefined || before(ver, b.since));
  if (hostWide.length === 0) return { hostWide };
  const why = hostWide.map((b) => `${b.field} is per namespace only since Linux ${b.since.major}.${b.since.minor} (${b.change})`).join('; ');
  const head = ver === undefined
    ? `kernel release "${release}" does not start with a version number: treating fields that older kernels keep for the whole host as host-wide`
    : `kernel ${release} is older than the versions that keep these fields per namespace`;
  return {
    hostWide,
    notice: `${head}: ${hostWide.map((b) => b.key).join(', ')} reported once for the host (host-wide), absent per container; ${why}`,
  };
}
