// Parser for /proc/<pid>/net/stat/nf_conntrack: a header of column names, then one line per
// possible CPU of 8-digit hex numbers:
//   entries  clashres found new invalid ignore delete chainlength insert insert_failed drop ...
//   00000006  00000000 00000000 00000000 ...
// The columns differ between kernels (3.10: searched … delete_list, no search_restart before it
// was added; 6.x: clashres … chainlength), so values are taken by header name, never position.
// `entries` is the namespace's conntrack count, printed identically on every CPU line
// (nf_conntrack_count(net)); every other column is that CPU's counter for this namespace
// (net->ct.stat), so the namespace's total is the sum over the lines. Each per-CPU counter is an
// unsigned 32-bit number that wraps.
import { forEachLine, words } from './lines';

export interface ConntrackStat {
  /** Conntrack entries of this namespace (the first column). */
  entries: number;
  /** Every other column, summed over the CPU lines. */
  counters: Record<string, number>;
  /** CPU lines read. */
  cpus: number;
}

const HEX = /^[0-9a-fA-F]{1,8}$/;

/** undefined when the text is not this file (no `entries` header, no CPU line, a line that does not fit the header). */
export function parseConntrackStat(text: string): ConntrackStat | undefined {
  let names: string[] | undefined;
  let out: ConntrackStat | undefined;
  let bad = false;
  forEachLine(text, (line) => {
    if (bad) return;
    const w = words(line);
    if (w.length === 0) return;
    if (names === undefined) {
      if (w[0] !== 'entries') bad = true;
      names = w;
      return;
    }
    if (w.length !== names.length || !w.every((x) => HEX.test(x))) {
      bad = true; // a line that does not fit the header would put numbers under the wrong names
      return;
    }
    const v = w.map((x) => parseInt(x, 16));
    if (out === undefined) out = { entries: v[0], counters: {}, cpus: 0 };
    out.cpus++;
    for (let i = 1; i < names.length; i++) out.counters[names[i]] = (out.counters[names[i]] ?? 0) + v[i];
  });
  return bad ? undefined : out;
}
