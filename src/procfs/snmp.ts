// /proc/<pid>/net/snmp as sections of fields (procfs/netstat.ts parses snmp and netstat alike;
// this is its result without the list of problems, for readers that only look fields up).
import { CounterSections, parseCounterTable } from './netstat';
import { decimalAt, lineEnd, wordSpans, words } from './lines';

/** Word spans of the Tcp value line (wordSpans), reused. */
const spans: number[] = [];

export type Snmp = CounterSections;

export function parseSnmp(text: string, only?: readonly string[]): Snmp {
  return parseCounterTable(text, only).sections;
}

/** What tcpCurrEstab remembers of the Tcp header line it last saw (the same in every namespace of a host). */
export interface TcpHeaderMemo {
  header?: string;
  /** Words on the line after "Tcp:", and the index of CurrEstab among them (-1: none). */
  count: number;
  at: number;
}

/**
 * `Tcp: CurrEstab` straight from the text, without parsing the sections into records (the snmp
 * collector and orphans want this one number; the parse made ~1.3 KB of objects per namespace).
 * Undefined unless the text is plainly well formed there — a Tcp header line, a Tcp value line with
 * as many words, CurrEstab a whole number — so the caller parses the slow way, which says what
 * is wrong.
 */
export function tcpCurrEstab(text: string, memo: TcpHeaderMemo): number | undefined {
  const hs = text.startsWith('Tcp:') ? 0 : text.indexOf('\nTcp:') + 1;
  if (hs === 0 && !text.startsWith('Tcp:')) return undefined;
  const he = lineEnd(text, hs);
  const vs = he + 1;
  if (!text.startsWith('Tcp:', vs)) return undefined;
  const ve = lineEnd(text, vs);
  const header = text.substring(hs, he);
  if (header !== memo.header) {
    const names = words(header, 4);
    memo.header = flatCopy(header);
    memo.count = names.length;
    memo.at = names.indexOf('CurrEstab');
  }
  if (memo.at < 0 || wordSpans(text, vs + 4, ve, spans) !== memo.count) return undefined;
  return decimalAt(text, spans[2 * memo.at], spans[2 * memo.at + 1]);
}

/** A copy that shares nothing with the text it was cut from (a slice would keep that text alive). */
function flatCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
