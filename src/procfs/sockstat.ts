// Parser for /proc/<pid>/net/sockstat and sockstat6:
//   sockets: used 8
//   TCP: inuse 1 orphan 0 tw 8 alloc 1 mem 0
//   TCP6: inuse 0
// Each line is a protocol followed by name/value pairs. Pure: text in, structure out.
import { decimalAt, isSpace, lineEnd } from './lines';

/** protocol → field → value. A field that is absent or not a number is simply not there. */
export type Sockstat = Record<string, Record<string, number>>;

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
        if (name === undefined) name = text.slice(w, i);
        else {
          // A truncated line ("TCP: inuse") leaves the dangling name out rather than inventing a value.
          const value = decimalAt(text, w, i); // kernel counts: never negative or fractional
          if (value !== undefined) fields[name] = value;
          name = undefined;
        }
      }
      out[text.slice(start, colon).trim()] = fields;
    }
    start = end + 1;
  }
  return out;
}
