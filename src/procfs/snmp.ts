// Parser for /proc/<pid>/net/snmp (and netstat, which has the same shape): each protocol is a
// header line of field names followed by a line of values with the same prefix.
//   Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens ... CurrEstab ...
//   Tcp: 1 200 120000 -1 50 ... 0 ...
// Values can be negative (Tcp MaxConn is -1: "no limit").
// This runs for every namespace every cycle: only the protocols asked for are split into fields.
import { decimal, forEachLine, words } from './lines';

export type Snmp = Record<string, Record<string, number>>;

export function parseSnmp(text: string, only?: readonly string[]): Snmp {
  const out: Snmp = {};
  let head: { proto: string; line: string } | undefined;
  forEachLine(text, (line) => {
    const colon = line.indexOf(':');
    if (colon <= 0) {
      head = undefined;
      return;
    }
    const proto = line.slice(0, colon);
    if (head === undefined || head.proto !== proto) {
      head = { proto, line };
      return;
    }
    const header = head.line;
    head = undefined; // this line consumed the pair
    if (only && !only.includes(proto)) return;
    const names = words(header, colon + 1);
    const vals = words(line, colon + 1);
    // A header/value pair whose lengths differ is malformed: trusting positions would mislabel
    // every number after the gap, so the whole protocol is left out.
    if (names.length !== vals.length) return;
    const fields: Record<string, number> = {};
    for (let j = 0; j < names.length; j++) {
      const n = decimal(vals[j], true);
      if (n !== undefined) fields[names[j]] = n;
    }
    out[proto] = fields;
  });
  return out;
}
