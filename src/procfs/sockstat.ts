// Parser for /proc/<pid>/net/sockstat and sockstat6:
//   sockets: used 8
//   TCP: inuse 1 orphan 0 tw 8 alloc 1 mem 0
//   TCP6: inuse 0
// Each line is a protocol followed by name/value pairs. Pure: text in, structure out.
import { decimalAt, isSpace, lineEnd } from './lines';

/** protocol → field → value. A field that is absent or not a number is simply not there. */
export type Sockstat = Record<string, Record<string, number>>;

/**
 * The names the kernel writes (sockstat and sockstat6), so that a word equal to one is that string,
 * not a new slice: ~10 fewer strings per file, 2000 files a cycle at 1000 namespaces. Any other
 * name is sliced as before.
 */
const KNOWN = ['sockets', 'used', 'TCP', 'inuse', 'orphan', 'tw', 'alloc', 'mem', 'UDP', 'UDPLITE', 'RAW', 'FRAG',
  'TCP6', 'UDP6', 'UDPLITE6', 'RAW6', 'FRAG6', 'MPTCP'];
const BY_LENGTH: string[][] = [];
for (const k of KNOWN) (BY_LENGTH[k.length] ??= []).push(k);

/** text[from, to) as a string: a known name when it is one. */
function nameAt(text: string, from: number, to: number): string {
  const same = BY_LENGTH[to - from];
  if (same) for (const k of same) if (text.startsWith(k, from)) return k;
  return text.slice(from, to);
}

export function parseSockstat(text: string): Sockstat {
  // Every namespace, every cycle: one pass, no line or word strings but the names kept.
  const out: Sockstat = {};
  for (let start = 0; start < text.length; ) {
    const end = lineEnd(text, start);
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end) {
      const fields: Record<string, number> = {};
      let name: string | undefined;
      for (let i = colon + 1; i < end; ) {
        while (i < end && isSpace(text.charCodeAt(i))) i++;
        if (i === end) break;
        const w = i;
        while (i < end && !isSpace(text.charCodeAt(i))) i++;
        if (name === undefined) name = nameAt(text, w, i);
        else {
          // A truncated line ("TCP: inuse") leaves the dangling name out rather than inventing a value.
          const value = decimalAt(text, w, i); // kernel counts: never negative or fractional
          if (value !== undefined) fields[name] = value;
          name = undefined;
        }
      }
      let a = start;
      let b = colon;
      while (a < b && isSpace(text.charCodeAt(a))) a++;
      while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
      out[nameAt(text, a, b)] = fields;
    }
    start = end + 1;
  }
  return out;
}
