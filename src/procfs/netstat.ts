// Parser for /proc/<pid>/net/snmp and /proc/<pid>/net/netstat: each section is a header line of
// field names followed by a line of values with the same prefix.
//   TcpExt: SyncookiesSent SyncookiesRecv ... ListenOverflows ListenDrops ...
//   TcpExt: 0 0 ... 3 3 ...
// Values can be negative (snmp Tcp MaxConn is -1: "no limit"). Sections the kernel writes only
// once they have something to say (IcmpMsg after the first ICMP message) are simply not there.
// This runs for every namespace every cycle: only the sections asked for are split into fields.
import { decimalAt, forEachLine, wordSpans, words } from './lines';

/** section → field → value. A field that is absent or not a number is not there. */
export type CounterSections = Record<string, Record<string, number>>;

export interface CounterTable {
  sections: CounterSections;
  /**
   * What is wrong with the text, one line each (a header without its values, names and values
   * that do not pair up, a value that is not a number). Whatever could be read is still in
   * `sections`; a section whose names and values do not pair up is left out whole, since trusting
   * positions would mislabel every number after the gap.
   */
  problems: string[];
}

/**
 * Calls `fn` with each section's header line and value line (`colon`: where the section name
 * ends in both); what does not pair up is added to `problems`.
 */
export function forEachSectionPair(text: string, problems: string[], fn: (section: string, header: string, values: string, colon: number) => void): void {
  let head: { section: string; line: string } | undefined;
  const unpaired = (): void => {
    if (head) problems.push(`${head.section}: a header line without its values`);
    head = undefined;
  };
  forEachLine(text, (line) => {
    const colon = line.indexOf(':');
    if (colon <= 0) {
      unpaired();
      if (line.trim() !== '') problems.push(`a line without a section name: "${line.slice(0, 40)}"`);
      return;
    }
    const section = line.slice(0, colon);
    if (head === undefined || head.section !== section) {
      unpaired();
      head = { section, line };
      return;
    }
    const header = head.line;
    head = undefined; // this line consumed the pair
    fn(section, header, line, colon);
  });
  unpaired();
}

/**
 * The words of `line` after `from` at the word indexes `picks` (ascending) into `out`, without
 * splitting the whole line (netstat's TcpExt line has ~130 values; a selection wants a few);
 * returns how many words the line has.
 */
export function pickWords(line: string, from: number, picks: readonly number[], out: string[]): number {
  let count = 0;
  let k = 0;
  let i = from;
  const n = line.length;
  const space = (c: number): boolean => c === 32 || c === 9;
  while (i < n) {
    while (i < n && space(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !space(line.charCodeAt(i))) i++;
    if (k < picks.length && picks[k] === count) out[k++] = line.slice(start, i);
    count++;
  }
  return count;
}

/** Header lines seen last and their names: every namespace of a host prints the same ones. */
const recent: { header: string; from: number; names: string[] }[] = [];
const RECENT = 16;
const spans: number[] = [];

function headerNames(header: string, from: number): string[] {
  for (const r of recent) if (r.from === from && r.header === header) return r.names;
  const names = words(header, from);
  if (recent.length >= RECENT) recent.pop();
  recent.unshift({ header, from, names });
  return names;
}

export function parseCounterTable(text: string, only?: readonly string[]): CounterTable {
  const out: CounterTable = { sections: {}, problems: [] };
  forEachSectionPair(text, out.problems, (section, header, line, colon) => {
    if (only && !only.includes(section)) return;
    const names = headerNames(header, colon + 1);
    const count = wordSpans(line, colon + 1, line.length, spans); // the values, read in place
    if (names.length !== count) {
      out.problems.push(`${section}: ${names.length} names but ${count} values`);
      return;
    }
    const fields: Record<string, number> = {};
    for (let j = 0; j < count; j++) {
      const n = decimalAt(line, spans[2 * j], spans[2 * j + 1], true);
      if (n !== undefined) fields[names[j]] = n;
      else out.problems.push(`${section} ${names[j]}: "${line.slice(spans[2 * j], spans[2 * j + 1]).slice(0, 24)}" is not a whole number`);
    }
    out.sections[section] = fields;
  });
  return out;
}
