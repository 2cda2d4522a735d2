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
import { words } from './lines';

export interface ConntrackStat {
  /** Conntrack entries of this namespace (the first column). */
  entries: number;
  /** Every other column, summed over the CPU lines. */
  counters: Record<string, number>;
  /** CPU lines read. */
  cpus: number;
}

/** The last header seen and its names: every namespace of a host prints the same one. */
let lastHeader = '';
let lastNames: string[] = [];

/** undefined when the text is not this file (no `entries` header, no CPU line, a line that does not fit the header). */
export function parseConntrackStat(text: string): ConntrackStat | undefined {
  // Runs for every namespace every cycle: one pass over the characters, no regular expression.
  const nl = text.indexOf('\n');
  const header = nl < 0 ? text : text.slice(0, nl);
  if (header !== lastHeader) {
    lastNames = words(header);
    lastHeader = header;
  }
  const names = lastNames;
  if (names[0] !== 'entries' || nl < 0) return undefined;
  const n = names.length;
  const sums = new Array<number>(n).fill(0);
  let entries = -1;
  let cpus = 0;
  let col = 0; // columns read on the current line
  let digits = 0; // hex digits of the current number
  let value = 0;
  for (let i = nl + 1; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 10;
    const hex = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (hex >= 0) {
      if (++digits > 8) return undefined; // wider than the kernel's 32-bit counters
      value = value * 16 + hex;
      continue;
    }
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return undefined; // not a hex number
    if (digits > 0) {
      if (col >= n) return undefined;
      if (col === 0 && entries < 0) entries = value;
      else if (col > 0) sums[col] += value;
      col++;
      digits = 0;
      value = 0;
    }
    if (c === 10 && col > 0) {
      if (col !== n) return undefined; // a line that does not fit the header would mislabel numbers
      cpus++;
      col = 0;
    }
  }
  if (cpus === 0) return undefined;
  const counters: Record<string, number> = {};
  for (let k = 1; k < n; k++) counters[names[k]] = sums[k];
  return { entries, counters, cpus };
}
