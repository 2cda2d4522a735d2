// Parser for /proc/<pid>/net/sockstat and sockstat6:
//   sockets: used 8
//   TCP: inuse 1 orphan 0 tw 8 alloc 1 mem 0
//   TCP6: inuse 0
// Each line is a protocol followed by name/value pairs. Pure: text in, structure out.
import { decimal, forEachLine, words } from './lines';

/** protocol → field → value. A field that is absent or not a number is simply not there. */
export type Sockstat = Record<string, Record<string, number>>;

export function parseSockstat(text: string): Sockstat {
  const out: Sockstat = {};
  forEachLine(text, (line) => {
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const w = words(line, colon + 1);
    const fields: Record<string, number> = {};
    // A truncated line ("TCP: inuse") leaves the dangling name out rather than inventing a value.
    for (let i = 0; i + 1 < w.length; i += 2) {
      const value = decimal(w[i + 1]); // kernel counts: never negative or fractional
      if (value !== undefined) fields[w[i]] = value;
    }
    out[line.slice(0, colon).trim()] = fields;
  });
  return out;
}
