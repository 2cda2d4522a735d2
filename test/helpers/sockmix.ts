// The sockmix fixture (test/fixtures/sockmix/sockmix.c) and the exact numbers the kernel
// shows for a mix in the namespace it runs in.
//
// MEASURED on kernel 6.18.44 (Debian bookworm host, docker.io 20.10.24), each kind alone
// with N=3 in a fresh `unshare -n` namespace, then all kinds together in a container:
//   kind (per unit)            sockets:used  TCP inuse  TCP6 inuse  TCP tw  CurrEstab  UDP/UDP6
//   listenX (1 listener)            1        1 (v4)     1 (v6)        0        0         0
//   estabX (1 pair)                 2        2 (v4)     2 (v6)        0        2         0
//   timewaitX (1 conn)              0        0          0             1        0         0
//   closewaitX (1 pair)             2        2 (v4)     2 (v6)        0        1         0
//   udpX (1 socket)                 1        0          0             0        0      1 (own family)
//   unix (1 socketpair)             2        0          0             0        0         0
// So:
// - an accepted socket counts in inuse and in `sockets: used`, like the client;
// - a v6 socket (listener or connection on ::1) counts in sockstat6 TCP6 only, never in TCP;
// - `TCP: tw` (sockstat, not sockstat6) counts v4 AND v6 TIME_WAIT; TIME_WAIT sockets are in
//   neither inuse nor `sockets: used` (they are inet_timewait_sock, not full sockets);
// - CurrEstab counts ESTABLISHED + CLOSE_WAIT (RFC 1213; Linux >= 6.10), not FIN_WAIT2: a
//   closewait pair (server CLOSE_WAIT + client FIN_WAIT2 after shutdown(SHUT_WR)) adds 1.
//   Before 6.10 CLOSE_WAIT was not counted (expectedStats follows os.release());
// - baseline: a fresh `unshare -n` namespace shows 0 everywhere (sockmix's own ioctl socket is
//   closed before "ready"); a Docker container (--network none, idle or not, and the containers
//   joined to it with --network container:X) shows `sockets: used 1` and nothing else: it is
//   dockerd's own rtnetlink socket in the container's namespace (libnetwork's sandbox handle;
//   `ss -f netlink` shows rtnl:dockerd).
// - Docker's --network none has IPv6 disabled unless the sysctls are set (runContainer ipv6);
//   sockmix then fails with "error: listen6: Cannot assign requested address".
// TIME_WAIT sockets expire after 60 s (TCP_TIMEWAIT_LEN): read the stats soon after "ready".
import os from 'node:os';
import path from 'node:path';
import { BUILD_DIR } from './paths';

/** Counts of each kind; all default to 0. See sockmix.c for what each creates. */
export interface Mix {
  listen4?: number;
  listen6?: number;
  /** Connected pairs over loopback: 2 ESTABLISHED sockets each. */
  estab4?: number;
  estab6?: number;
  /** Connections closed client-first: 1 TIME_WAIT each, nothing else left. */
  timewait4?: number;
  timewait6?: number;
  /** Pairs with 1 CLOSE_WAIT (server) + 1 FIN_WAIT2 (client) each, both fds kept. */
  closewait4?: number;
  closewait6?: number;
  udp4?: number;
  udp6?: number;
  /** AF_UNIX socketpairs: 2 sockets each (only `total` sees them). */
  unix?: number;
}

export interface ExpectedStats {
  /** snmp `Tcp: CurrEstab` */
  established: number;
  /** sockstat `TCP: inuse` + sockstat6 `TCP6: inuse` */
  inuse: number;
  /** sockstat `TCP: tw` (v4 + v6) */
  timewait: number;
  /** sockstat `sockets: used` */
  total: number;
  /** sockstat `UDP: inuse` + sockstat6 `UDP6: inuse` */
  udp: number;
  tcp4_inuse: number;
  tcp6_inuse: number;
  udp4_inuse: number;
  udp6_inuse: number;
}

/** Where the mix runs: a bare `unshare -n` namespace, or a Docker container's namespace. */
export type NsKind = 'netns' | 'docker';

/** `sockets: used` of an idle namespace of that kind (see above). */
export const BASELINE_TOTAL: Record<NsKind, number> = { netns: 0, docker: 1 };

/** Host path of the static binary (built by test/setup/prepare.sh). */
export const SOCKMIX_BIN = path.join(BUILD_DIR, 'sockmix');
/** Path of the binary inside the test image. */
export const SOCKMIX_IN_IMAGE = '/bin/sockmix';

const KEYS: Array<keyof Mix> = [
  'listen4', 'listen6', 'estab4', 'estab6', 'timewait4', 'timewait6',
  'closewait4', 'closewait6', 'udp4', 'udp6', 'unix',
];

/** Command-line arguments for sockmix (kinds with a count > 0 only). */
export function mixArgs(mix: Mix): string[] {
  const args: string[] = [];
  for (const k of KEYS) {
    const n = mix[k] ?? 0;
    if (!Number.isInteger(n) || n < 0) throw new Error(`sockmix: bad count ${k}=${n}`);
    if (n > 0) args.push(`--${k}`, String(n));
  }
  return args;
}

/** CurrEstab counts CLOSE_WAIT from Linux 6.10 on. */
function closeWaitInCurrEstab(release = os.release()): boolean {
  const [maj, min] = release.split('.').map((x) => parseInt(x, 10));
  return maj > 6 || (maj === 6 && min >= 10);
}

/** Exactly what the kernel shows in the namespace once sockmix printed "ready". */
export function expectedStats(mix: Mix, where: NsKind = 'netns'): ExpectedStats {
  const n = (k: keyof Mix) => mix[k] ?? 0;
  const tcp4 = n('listen4') + 2 * n('estab4') + 2 * n('closewait4');
  const tcp6 = n('listen6') + 2 * n('estab6') + 2 * n('closewait6');
  const udp4 = n('udp4');
  const udp6 = n('udp6');
  const closeWait = closeWaitInCurrEstab() ? n('closewait4') + n('closewait6') : 0;
  return {
    established: 2 * (n('estab4') + n('estab6')) + closeWait,
    inuse: tcp4 + tcp6,
    timewait: n('timewait4') + n('timewait6'),
    total: BASELINE_TOTAL[where] + tcp4 + tcp6 + udp4 + udp6 + 2 * n('unix'),
    udp: udp4 + udp6,
    tcp4_inuse: tcp4,
    tcp6_inuse: tcp6,
    udp4_inuse: udp4,
    udp6_inuse: udp6,
  };
}
