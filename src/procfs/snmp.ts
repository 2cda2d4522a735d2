// Parser for /proc/<pid>/net/snmp (and netstat, which has the same shape): each protocol is a
// header line of field names followed by a line of values with the same prefix.
//   Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens ... CurrEstab ...
//   Tcp: 1 200 120000 -1 50 ... 0 ...
// Values can be negative (Tcp MaxConn is -1: "no limit").

export type Snmp = Record<string, Record<string, number>>;

export function parseSnmp(text: string): Snmp {
  const out: Snmp = {};
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const head = splitLine(lines[i]);
    const vals = splitLine(lines[i + 1]);
    if (!head || !vals || head.proto !== vals.proto) continue;
    i++; // consumed the value line
    // A header/value pair whose lengths differ is malformed: trusting positions would mislabel
    // every number after the gap, so the whole protocol is left out.
    if (head.words.length !== vals.words.length) continue;
    const fields: Record<string, number> = {};
    head.words.forEach((name, j) => {
      const v = vals.words[j];
      if (/^-?\d{1,20}$/.test(v)) fields[name] = Number(v);
    });
    out[head.proto] = fields;
  }
  return out;
}

function splitLine(line: string): { proto: string; words: string[] } | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  const rest = line.slice(colon + 1).trim();
  return { proto: line.slice(0, colon), words: rest === '' ? [] : rest.split(/\s+/) };
}
