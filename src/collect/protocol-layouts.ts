// The protocols collector's fast path. Parsing snmp, netstat and snmp6 line by line made strings
// per line and per word and hashed header lines of ~2 KB for every namespace every cycle, though
// the kernel prints the same lines in the same order in every namespace of a host. So once a file
// was parsed clean (no problem found), its layout is remembered: the header lines (snmp, netstat)
// or the names (snmp6) in order, with the selected word indexes and their definitions. A text
// that matches a remembered layout exactly — every header line and name, every value line's
// section, every line's word count, every selected value a whole number — is read in place from
// its bytes, with no string made (netstat and snmp6 straight from the reader's buffer; snmp, whose
// text the snmp collector already made, written into a scratch buffer). Anything else (IcmpMsg appearing, a damaged line, a CR) is not read here; the
// collector then parses it the slow way, which says what is wrong, and learns the new layout.
// Both ways give the same samples in the same order.
import { MetricDef } from '../core/metrics';
import { Sample } from '../core/model';
import { decimal, isSpace, lineEnd } from '../procfs/lines';

/** A header line's selection: which word indexes to read, as which metrics (protocols.ts). */
export interface HeaderPicks {
  count: number;
  picks: number[];
  defs: MetricDef[];
}

/** snmp/netstat: one entry per header + values pair, as bytes; `picks` undefined when the section is not read. */
type TableLayout = { header: Buffer; section: Buffer; picks: HeaderPicks | undefined }[];
/**
 * snmp6: one entry per line, its name and the spaces up to the value (the kernel pads names to
 * one width); `def` null when the name is not selected.
 */
type Snmp6Layout = { prefix: Buffer; def: MetricDef | null }[];

/** Layouts remembered per file: namespaces differ (IcmpMsg, per-type ICMPv6 lines once seen). */
const LAYOUTS = 4;
const values: number[] = [];

export class Layouts {
  private tables: TableLayout[] = [];
  private snmp6s: Snmp6Layout[] = [];

  /**
   * Reads a file's bytes (`buf[0, len)`: what a read left in the reader's buffer, or a text
   * written there as latin1, one byte per character) into `out` when they match a layout; false
   * (and `out` as it was) otherwise.
   */
  read(buf: Buffer, len: number, out: Sample[]): boolean {
    const mark = out.length;
    for (const l of this.tables) {
      if (readTable(buf, len, l, out)) return true;
      out.length = mark;
    }
    for (const l of this.snmp6s) {
      if (readSnmp6(buf, len, l, out)) return true;
      out.length = mark;
    }
    return false;
  }

  /**
   * Remembers the layout of a snmp/netstat text parsed clean. `picksOf(section, header, colon)`
   * is the selection of a section to read, undefined for one not read.
   */
  learnTable(text: string, picksOf: (section: string, header: string, colon: number) => HeaderPicks | undefined): void {
    const layout: TableLayout = [];
    for (let pos = 0; pos < text.length; ) {
      const e1 = lineEnd(text, pos);
      const header = text.slice(pos, e1);
      const colon = header.indexOf(':');
      if (colon <= 0 || e1 >= text.length || header.endsWith('\r')) return;
      const section = header.slice(0, colon);
      const e2 = lineEnd(text, e1 + 1);
      if (!text.startsWith(`${section}:`, e1 + 1) || text.charCodeAt(e2 - 1) === 13) return;
      const picks = picksOf(section, header, colon);
      layout.push({ header: Buffer.from(header, 'latin1'), section: Buffer.from(section, 'latin1'), picks: picks && picks.picks.length > 0 ? picks : undefined });
      pos = e2 + 1;
    }
    remember(this.tables, layout);
  }

  /** Remembers the layout of a snmp6 text parsed clean; `defOf(name)` undefined: not remembered, no layout. */
  learnSnmp6(text: string, defOf: (name: string) => MetricDef | null | undefined): void {
    const layout: Snmp6Layout = [];
    for (let pos = 0; pos < text.length; ) {
      const e = lineEnd(text, pos);
      let i = pos;
      while (i < e && !isSpace(text.charCodeAt(i))) i++;
      if (i === pos) return; // an empty line or leading space: always the slow way
      let j = i;
      while (j < e && isSpace(text.charCodeAt(j))) j++;
      const def = defOf(text.slice(pos, i));
      if (def === undefined || j === i) return;
      layout.push({ prefix: Buffer.from(text.slice(pos, j), 'latin1'), def });
      pos = e + 1;
    }
    remember(this.snmp6s, layout);
  }

  /** Forgets every layout (the selection's header cache was cleared). */
  clear(): void {
    this.tables = [];
    this.snmp6s = [];
  }
}

function remember<T>(list: T[][], layout: T[]): void {
  if (layout.length === 0) return;
  if (list.length >= LAYOUTS) list.pop();
  list.unshift(layout);
}

/** As protocols.ts puts a value: only a setting (a gauge such as Tcp MaxConn -1) may be negative. */
function put(def: MetricDef, v: number, out: Sample[]): void {
  if (v >= 0 || def.kind === 'gauge') out.push({ def, value: v });
}

// The readers, over bytes. A latin1 text has one byte per character with the character's code,
// so each comparison and number is the one procfs/lines.ts would make on the text.

/** Whether `s` is in `b[0, len)` at `pos`: a native comparison for long strings (header lines), a loop for short ones. */
function sameAt(b: Buffer, len: number, pos: number, s: Buffer): boolean {
  const n = s.length;
  if (pos + n > len) return false;
  if (n > 64) return b.compare(s, 0, n, pos, pos + n) === 0;
  for (let k = 0; k < n; k++) if (b[pos + k] !== s[k]) return false;
  return true;
}

/** Where the line from `from` ends in `b[0, len)`: its '\n', or `len`. */
function lineEndAt(b: Buffer, len: number, from: number): number {
  let i = from;
  while (i < len && b[i] !== 10) i++;
  return i;
}

/** decimalAt(text, from, to, true) over bytes: the same numbers and the same refusals. */
function decimalIn(b: Buffer, from: number, to: number): number | undefined {
  const neg = from < to && b[from] === 45;
  const start = neg ? from + 1 : from;
  const n = to - start;
  if (n <= 0 || n > 16) return undefined;
  if (n > 15) return decimal(b.toString('latin1', from, to), true); // near 2^53: let Number decide exactly
  let v = 0;
  for (let i = start; i < to; i++) {
    const c = b[i];
    if (c < 48 || c > 57) return undefined;
    v = v * 10 + (c - 48);
  }
  return neg ? -v : v;
}

/** isSpace (procfs/lines.ts) for a latin1 byte. */
function spaceByte(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160;
}

function readTable(b: Buffer, len: number, layout: TableLayout, out: Sample[]): boolean {
  let pos = 0;
  for (const { header, section, picks } of layout) {
    if (!sameAt(b, len, pos, header) || pos + header.length >= len || b[pos + header.length] !== 10) return false;
    const p = pos + header.length + 1;
    if (!sameAt(b, len, p, section) || p + section.length >= len || b[p + section.length] !== 58) return false;
    const e = lineEndAt(b, len, p);
    if (b[e - 1] === 13) return false;
    if (picks && !pickValues(b, p + section.length + 1, e, picks, out)) return false;
    pos = e + 1;
  }
  return pos >= len;
}

/** The selected values of a value line (words split at spaces and tabs, as netstat.ts pickWords). */
function pickValues(b: Buffer, from: number, to: number, h: HeaderPicks, out: Sample[]): boolean {
  let count = 0;
  let k = 0;
  for (let i = from; i < to; ) {
    let c = b[i];
    while (i < to && (c === 32 || c === 9)) c = b[++i];
    if (i >= to) break;
    const start = i;
    while (i < to && c !== 32 && c !== 9) c = b[++i];
    if (k < h.picks.length && h.picks[k] === count) {
      const v = decimalIn(b, start, i);
      if (v === undefined) return false;
      values[k++] = v;
    }
    count++;
  }
  if (count !== h.count) return false;
  for (let j = 0; j < k; j++) put(h.defs[j], values[j], out);
  return true;
}

function readSnmp6(b: Buffer, len: number, layout: Snmp6Layout, out: Sample[]): boolean {
  let pos = 0;
  for (const { prefix, def } of layout) {
    if (!sameAt(b, len, pos, prefix)) return false;
    const p = pos + prefix.length;
    const e = lineEndAt(b, len, p);
    if (e === p) return false; // no value
    if (def) {
      const v = decimalIn(b, p, e); // not a number (a space too): the slow way says so
      if (v === undefined) return false;
      put(def, v, out);
    } else {
      for (let i = p; i < e; i++) if (spaceByte(b[i])) return false; // more words than two
    }
    pos = e + 1;
  }
  return pos >= len;
}
