// Parser for the socket tables /proc/<pid>/net/tcp and tcp6 (one line per socket of the
// namespace), reduced to what the collectors need: a count per TCP state and the orphans.
//
//   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//    8: 0100007F:CE0E 0100007F:BB01 04 00001C01:00000000 04:00000076 00000000     0        0 0 2 …
//
// Words (0-based): 3 `st` (state, hex, include/net/tcp_states.h), 5 `tr:tm->when` (tr: 0 no
// timer, 1 retransmit, 2 keepalive/FIN_WAIT2 (sk_timer), 3 TIME_WAIT, 4 zero-window probe), 9 inode.
// The kernel prints three kinds of lines (net/ipv4/tcp_ipv4.c tcp4_seq_show, the same in tcp_ipv6.c):
// full sockets (get_tcp4_sock), request sockets in SYN_RECV (get_openreq4: inode 0, tr 1) and
// timewait sockets (get_timewait4_sock: inode 0, tr 3, state = the timewait socket's substate,
// TIME_WAIT or FIN_WAIT2).
//
// Orphan rule — what sockstat's `TCP: orphan` counts, per socket: net/ipv4/tcp.c __tcp_close()
// calls sock_orphan() (sk_socket = NULL: the inode printed becomes 0) and then increments
// tcp_orphan_count; inet_csk_destroy_sock() decrements it when the socket is finally freed. A
// socket that becomes a timewait socket is destroyed at that moment (tcp_time_wait → tcp_done), so
// timewait lines are never orphans, even those whose substate shows FIN_WAIT2. What remains after
// close() are full sockets in FIN_WAIT1, FIN_WAIT2 (only when its linger time exceeds 60 s: it is
// kept as a full socket with its keepalive timer), CLOSING or LAST_ACK. Hence: state ∈ {FIN_WAIT1,
// FIN_WAIT2, CLOSING, LAST_ACK} and inode 0 and tr ≠ 3. Full sockets still owned by a process have
// an inode; a child not yet accept()ed has inode 0 but cannot be in these states (it has sent no
// FIN). Momentary orphans that are destroyed in the same call (CLOSE, a listener's unaccepted
// children) are counted by the kernel for an instant and are not in the table.
// Verified on 6.18 (test/fixtures/kernel/6.18/orphans.*: 2 FIN_WAIT1 v4, 1 FIN_WAIT1 v6,
// 1 LAST_ACK, 1 FIN_WAIT2 with TCP_LINGER2 120 → sockstat orphan 5; a FIN_WAIT2 timewait line
// beside them not counted).
import { forEachLine } from './lines';

/** TCP states as the kernel numbers them (include/net/tcp_states.h). */
export const TCP_STATES = {
  established: 1,
  syn_sent: 2,
  syn_recv: 3,
  fin_wait1: 4,
  fin_wait2: 5,
  time_wait: 6,
  close: 7,
  close_wait: 8,
  last_ack: 9,
  listen: 10,
  closing: 11,
} as const;

const ORPHAN_STATES = new Set<number>([TCP_STATES.fin_wait1, TCP_STATES.fin_wait2, TCP_STATES.closing, TCP_STATES.last_ack]);
const TIMER_TIME_WAIT = 3;

export interface TcpTable {
  /** Sockets per state number (index 0..15); a state with no socket is 0 (the table is complete). */
  states: number[];
  /** Orphaned sockets (see the rule above). */
  orphans: number;
  /** Lines that are not a socket line as the kernel writes it (counted, not guessed). */
  malformed: number;
}

export function parseTcpTable(text: string): TcpTable {
  const out: TcpTable = { states: new Array<number>(16).fill(0), orphans: 0, malformed: 0 };
  let header = true;
  forEachLine(text, (line) => {
    if (header) {
      header = false; // "  sl  local_address …"
      return;
    }
    if (line.trim() === '') return;
    const w = fields(line, 10);
    const state = w.length === 10 ? hex(w[3]) : undefined;
    const colon = w.length === 10 ? w[5].indexOf(':') : -1;
    const timer = colon > 0 ? hex(w[5].slice(0, colon)) : undefined;
    const inode = w.length === 10 && /^\d+$/.test(w[9]) ? w[9] : undefined;
    if (state === undefined || state > 15 || timer === undefined || inode === undefined || !w[0].endsWith(':')) {
      out.malformed++;
      return;
    }
    out.states[state]++;
    if (inode === '0' && timer !== TIMER_TIME_WAIT && ORPHAN_STATES.has(state)) out.orphans++;
  });
  return out;
}

/** The first `n` whitespace-separated words of a line (fewer when the line is short). */
function fields(line: string, n: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (out.length < n) {
    while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    if (i >= line.length) break;
    const start = i;
    while (i < line.length && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
    out.push(line.slice(start, i));
  }
  return out;
}

function hex(word: string): number | undefined {
  return /^[0-9A-Fa-f]{1,8}$/.test(word) ? parseInt(word, 16) : undefined;
}
