// /proc/<pid>/net/nf_conntrack: one line per tracked connection of that network namespace
// (CONFIG_NF_CONNTRACK_PROCFS). What the kernel prints, in order (net/netfilter/
// nf_conntrack_standalone.c, checked against 6.18):
//
//   ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.1.2 sport=41234 dport=80 \
//     packets=3 bytes=264 src=10.0.1.2 dst=10.0.0.2 sport=80 dport=41234 packets=2 bytes=112 \
//     [ASSURED] mark=0 zone=0 use=2
//
//   l3 name, l3 number, l4 name, l4 number, seconds left (absent when no timer runs), the l4 state
//   (tcp, sctp, dccp only), the original tuple (src= dst= then the l4 part: sport= dport= for
//   tcp/udp/udplite/sctp/dccp, type= code= id= for icmp/icmpv6, srckey= dstkey= for gre, nothing
//   for other protocols), `zone-orig=` (directional zones only), `packets= bytes=` (only with
//   net.netfilter.nf_conntrack_acct=1 when the connection was created), `[UNREPLIED]`, the reply
//   tuple, `zone-reply=`, its `packets= bytes=`, then one of `[HW_OFFLOAD]`, `[OFFLOAD]`,
//   `[ASSURED]`, `mark=` (CONFIG_NF_CONNTRACK_MARK), `secctx=`, `zone=` (non-directional zones),
//   `delta-time=` (seconds since the connection began, with nf_conntrack_timestamp=1) and `use=`.
//   IPv6 addresses are printed in full (`0000:0000:…:0001`, lower case). There is no conntrack
//   id in this file (netlink only): a reused tuple shows only as counters that went down, or as a
//   `delta-time=` that went down.
//
// Parsing avoids per-entry allocations: one reused entry object is handed to the visitor, numbers
// are read from character codes; only the tuple text is sliced (it keys maps), and the four
// addresses too unless `lazy` (then fillAddresses slices them on demand). The visitor must copy
// what it keeps.

/** A connection as the parser hands it over. Reused: valid only during the visitor call. */
export interface ConntrackEntry {
  family: 4 | 6;
  /** l4 protocol name as printed (tcp, udp, icmp, icmpv6, sctp, gre, unknown, …). */
  proto: string;
  protoNum: number;
  /** The l4 state (tcp: ESTABLISHED, TIME_WAIT, …); '' when the protocol has none. */
  state: string;
  origSrc: string;
  origDst: string;
  /** -1 when the protocol has no ports (icmp: type/code/id are in `tuple` only). */
  origSport: number;
  origDport: number;
  replySrc: string;
  replyDst: string;
  replySport: number;
  replyDport: number;
  /** -1 when the entry carries no accounting (acct was off when the connection was created). */
  origPackets: number;
  origBytes: number;
  replyPackets: number;
  replyBytes: number;
  assured: boolean;
  unreplied: boolean;
  /** `zone=` (or `zone-orig=`); 0 when not printed (the default zone). */
  zone: number;
  /** -1 when not printed. */
  mark: number;
  /** `delta-time=` seconds since the connection began; -1 without nf_conntrack_timestamp. */
  age: number;
  /** The original tuple's text from `src=` up to its accounting: identifies the connection with proto and zone. */
  tuple: string;
  /** Where the four addresses are in the text (origSrc, origDst, replySrc, replyDst: start, end). */
  readonly at: Int32Array;
  /** The text being parsed (for fillAddresses). */
  text: string;
}

/**
 * Slices the four addresses of a lazily parsed entry (parseConntrack with `lazy`): a caller that
 * needs them for few entries (the flows collector: only connections that moved) saves four string
 * allocations on every other entry.
 */
export function fillAddresses(e: ConntrackEntry): void {
  const a = e.at;
  e.origSrc = e.text.slice(a[0], a[1]);
  e.origDst = e.text.slice(a[2], a[3]);
  e.replySrc = e.text.slice(a[4], a[5]);
  e.replyDst = e.text.slice(a[6], a[7]);
}

export interface ConntrackParse {
  entries: number;
  /** Entries without `packets=`/`bytes=` (accounting off when they were created). */
  unaccounted: number;
  malformed: number;
  /** The first few malformed lines (up to 5) with why. */
  samples: { line: string; reason: string }[];
}

function blankEntry(): ConntrackEntry {
  return {
    family: 4, proto: '', protoNum: 0, state: '', origSrc: '', origDst: '', origSport: -1, origDport: -1,
    replySrc: '', replyDst: '', replySport: -1, replyDport: -1, origPackets: -1, origBytes: -1,
    replyPackets: -1, replyBytes: -1, assured: false, unreplied: false, zone: 0, mark: -1, age: -1, tuple: '',
    at: new Int32Array(8), text: '',
  };
}

const SPACE = 32;
const EQ = 61;

/** Unsigned decimal in text[from, to), or -1 when it is not one (or beyond 2^53). */
function num(text: string, from: number, to: number): number {
  if (to <= from || to - from > 16) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return Number.isSafeInteger(n) ? n : -1;
}

const is = (text: string, at: number, len: number, word: string): boolean => len === word.length && text.startsWith(word, at);

/**
 * Calls `visit` for each well-formed line of `text`; malformed lines are counted, and the first
 * few kept with the reason, never thrown. The entry passed is reused between calls.
 */
export function parseConntrack(text: string, visit: (e: ConntrackEntry) => void, lazy = false): ConntrackParse {
  const out: ConntrackParse = { entries: 0, unaccounted: 0, malformed: 0, samples: [] };
  const e = blankEntry();
  e.text = text;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const why = parseLine(text, start, end, e);
      if (why === undefined) {
        out.entries++;
        if (e.origBytes < 0 || e.replyBytes < 0) out.unaccounted++;
        if (!lazy) fillAddresses(e);
        visit(e);
      } else {
        out.malformed++;
        if (out.samples.length < 5) out.samples.push({ line: text.slice(start, Math.min(end, start + 300)), reason: why });
      }
    }
    start = end + 1;
  }
  return out;
}

/** Fills `e` from text[start, end); the reason when the line is not a conntrack entry. */
function parseLine(text: string, start: number, end: number, e: ConntrackEntry): string | undefined {
  e.family = 4;
  e.state = '';
  e.origSrc = e.origDst = e.replySrc = e.replyDst = e.tuple = '';
  e.at.fill(0);
  e.origSport = e.origDport = e.replySport = e.replyDport = -1;
  e.origPackets = e.origBytes = e.replyPackets = e.replyBytes = -1;
  e.assured = e.unreplied = false;
  e.zone = 0;
  e.mark = -1;
  e.age = -1;
  let col = 0; // leading fixed columns: l3 name, l3 number, l4 name, l4 number
  let protoAt = 0;
  let protoEnd = 0;
  let dir = -1; // -1: before the original tuple, 0: original, 1: reply
  let tupleStart = -1;
  let i = start;
  while (i < end) {
    while (i < end && text.charCodeAt(i) === SPACE) i++;
    if (i >= end) break;
    const s = i;
    let eq = -1;
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === SPACE) break;
      if (c === EQ && eq < 0) eq = i;
    }
    const t = i;
    if (col < 4) {
      if (col === 0) {
        if (is(text, s, t - s, 'ipv6')) e.family = 6;
        else if (!is(text, s, t - s, 'ipv4')) return `unknown address family "${text.slice(s, t)}"`;
      } else if (col === 1) {
        if (num(text, s, t) !== (e.family === 4 ? 2 : 10)) return 'address family number does not match its name';
      } else if (col === 2) {
        protoAt = s;
        protoEnd = t;
      } else {
        const protoNum = num(text, s, t);
        if (protoNum < 0 || protoNum > 255) return 'no protocol number';
        // The name is sliced only when it differs from the previous entry's (most lines share it).
        if (e.protoNum !== protoNum || !is(text, protoAt, protoEnd - protoAt, e.proto)) e.proto = text.slice(protoAt, protoEnd);
        e.protoNum = protoNum;
      }
      col++;
      continue;
    }
    if (eq < 0) {
      if (text.charCodeAt(s) === 91 /* [ */) {
        if (dir === 0 && tupleStart >= 0) {
          e.tuple = text.slice(tupleStart, s - 1); // no accounting: the tuple ends at [UNREPLIED]
          tupleStart = -1;
        }
        if (is(text, s, t - s, '[ASSURED]')) e.assured = true;
        else if (is(text, s, t - s, '[UNREPLIED]')) e.unreplied = true;
        // [OFFLOAD], [HW_OFFLOAD] and flags of later kernels: known not to matter here.
        continue;
      }
      if (dir === -1) {
        // The timeout (digits) and the l4 state (a word) precede the tuples.
        if (num(text, s, t) < 0) e.state = text.slice(s, t);
        continue;
      }
      return `unexpected word "${text.slice(s, t)}"`;
    }
    const k = eq - s;
    const v0 = eq + 1;
    switch (text.charCodeAt(s)) {
      case 115: // s
        if (k === 3 && text.charCodeAt(s + 1) === 114) {
          // src=: starts a tuple
          if (dir === 1) return 'more than two tuples';
          if (dir === 0 && tupleStart >= 0) e.tuple = text.slice(tupleStart, s - 1);
          tupleStart = dir === -1 ? s : -1;
          dir++;
          e.at[dir * 4] = v0;
          e.at[dir * 4 + 1] = t;
          continue;
        }
        if (k === 5 && is(text, s, 5, 'sport')) {
          if (dir === -1) return '"sport=" before the original tuple';
          const n = num(text, v0, t);
          if (n < 0 || n > 65535) return `bad port "${text.slice(s, t)}"`;
          if (dir === 0) e.origSport = n;
          else e.replySport = n;
          continue;
        }
        break;
      case 100: // d
        if (k === 3 && is(text, s, 3, 'dst')) {
          if (dir === -1) return '"dst=" before the original tuple';
          e.at[dir * 4 + 2] = v0;
          e.at[dir * 4 + 3] = t;
          continue;
        }
        if (k === 5 && is(text, s, 5, 'dport')) {
          if (dir === -1) return '"dport=" before the original tuple';
          const n = num(text, v0, t);
          if (n < 0 || n > 65535) return `bad port "${text.slice(s, t)}"`;
          if (dir === 0) e.origDport = n;
          else e.replyDport = n;
          continue;
        }
        if (k === 10 && is(text, s, 10, 'delta-time')) {
          e.age = num(text, v0, t);
          continue;
        }
        break;
      case 112: // p
      case 98: // b
        if ((k === 7 && is(text, s, 7, 'packets')) || (k === 5 && is(text, s, 5, 'bytes'))) {
          if (dir === -1) return `"${text.slice(s, eq)}=" before the original tuple`;
          const n = num(text, v0, t);
          if (n < 0) return `bad counter "${text.slice(s, t)}"`;
          if (dir === 0 && tupleStart >= 0) {
            e.tuple = text.slice(tupleStart, s - 1);
            tupleStart = -1;
          }
          if (k === 7) {
            if (dir === 0) e.origPackets = n;
            else e.replyPackets = n;
          } else if (dir === 0) e.origBytes = n;
          else e.replyBytes = n;
          continue;
        }
        break;
      case 122: // z
        if ((k === 4 && is(text, s, 4, 'zone')) || (k === 9 && is(text, s, 9, 'zone-orig'))) {
          const n = num(text, v0, t);
          if (n < 0) return `bad zone "${text.slice(s, t)}"`;
          e.zone = n;
          continue;
        }
        break;
      case 109: // m
        if (k === 4 && is(text, s, 4, 'mark')) {
          e.mark = num(text, v0, t);
          continue;
        }
        break;
    }
    // type= code= id= (icmp), srckey= dstkey= (gre), zone-reply=, secctx=, use=: part of the
    // tuple text or not needed.
    if (dir === -1) return `"${text.slice(s, eq)}=" before the original tuple`;
  }
  if (col < 4) return col < 3 ? (col === 0 ? 'empty line' : 'no protocol') : 'no protocol number';
  if (dir < 1) return dir < 0 ? 'no original tuple' : 'no reply tuple';
  const a = e.at;
  if (a[1] <= a[0] || a[3] <= a[2] || a[5] <= a[4] || a[7] <= a[6]) return 'a tuple lacks src= or dst=';
  return undefined;
}
