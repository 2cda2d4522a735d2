// Parser for /proc/<pid>/net/snmp6: one counter per line, its section glued to its field.
//   Ip6InReceives                   	12
//   Icmp6InType133                  	1
//   UdpLite6InDatagrams             	0
// The section is the name up to its first "6" (Ip6, Icmp6, Udp6, UdpLite6), so the result has the
// same shape as snmp's and netstat's (procfs/netstat.ts). Per-type ICMPv6 lines appear only once
// a message of that type was seen. The file is absent when the kernel has no IPv6.
import { decimal, forEachLine, words } from './lines';
import { CounterTable } from './netstat';

const NAME = /^([A-Za-z]+?6)([A-Za-z0-9]+)$/;

export function parseSnmp6(text: string): CounterTable {
  const out: CounterTable = { sections: {}, problems: [] };
  forEachLine(text, (line) => {
    const w = words(line);
    if (w.length === 0) return;
    const m = w.length === 2 ? NAME.exec(w[0]) : null;
    if (!m) {
      out.problems.push(`not a "<Section>6<Field> <value>" line: "${line.trim().slice(0, 40)}"`);
      return;
    }
    const v = decimal(w[1]);
    if (v === undefined) {
      out.problems.push(`${w[0]}: "${w[1].slice(0, 24)}" is not a whole number`);
      return;
    }
    (out.sections[m[1]] ??= {})[m[2]] = v;
  });
  return out;
}
