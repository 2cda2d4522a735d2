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

/** `Ip6InOctets` → ['Ip6', 'InOctets']; undefined for a name of another shape. */
export function splitSnmp6Name(name: string): [string, string] | undefined {
  const m = NAME.exec(name);
  return m ? [m[1], m[2]] : undefined;
}

/** Calls `fn` with each line's two words; a non-empty line of another shape goes to `problems`. */
export function forEachNameValue(text: string, problems: string[], fn: (name: string, value: string) => void): void {
  forEachLine(text, (line) => {
    const w = words(line);
    if (w.length === 0) return;
    if (w.length !== 2) problems.push(`not a "<Section>6<Field> <value>" line: "${line.trim().slice(0, 40)}"`);
    else fn(w[0], w[1]);
  });
}

export function parseSnmp6(text: string): CounterTable {
  const out: CounterTable = { sections: {}, problems: [] };
  forEachNameValue(text, out.problems, (name, value) => {
    const sf = splitSnmp6Name(name);
    if (!sf) {
      out.problems.push(`not a "<Section>6<Field> <value>" line: "${name} ${value}"`.slice(0, 80));
      return;
    }
    const v = decimal(value);
    if (v === undefined) {
      out.problems.push(`${name}: "${value.slice(0, 24)}" is not a whole number`);
      return;
    }
    (out.sections[sf[0]] ??= {})[sf[1]] = v;
  });
  return out;
}
