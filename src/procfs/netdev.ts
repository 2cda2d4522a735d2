// Parser for /proc/<pid>/net/dev: the namespace's interfaces and their counters.
//   Inter-|   Receive                                                |  Transmit
//    face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
//       lo:     740      10    0    0    0     0          0         0      740      10    0    0    0     0       0          0
// Field names are taken from the second header line, not assumed: the receive and transmit
// groups are its second and third "|"-separated parts. An interface name holds no ":" (the kernel
// refuses such names), so the first ":" of a line ends the name.
import { decimalAt, forEachLine, wordSpans, words } from './lines';

export interface NetDevice {
  name: string;
  rx: Record<string, number>;
  tx: Record<string, number>;
}

export interface NetDev {
  devices: NetDevice[];
  /** What is wrong with the text, one line each; the devices that could be read are still there. */
  problems: string[];
}

/** The last field header seen (every namespace of a host prints the same one) and its names. */
let lastHeader: string | undefined;
let lastNames: [string[], string[]] | undefined;
const spans: number[] = [];

/** The receive and transmit field names of the second header line; undefined when it is not one. */
function fieldNames(line: string): [string[], string[]] | undefined {
  if (line !== lastHeader) {
    const parts = line.split('|');
    lastNames = parts.length === 3 ? [words(parts[1]), words(parts[2])] : undefined;
    lastHeader = line;
  }
  return lastNames;
}

export function parseNetDev(text: string): NetDev {
  const out: NetDev = { devices: [], problems: [] };
  let n = 0;
  let rxNames: string[] = [];
  let txNames: string[] = [];
  forEachLine(text, (line) => {
    n++;
    if (n === 1) return;
    if (n === 2) {
      const names = fieldNames(line);
      if (names === undefined) {
        out.problems.push('the second header line is not "face |<receive fields>|<transmit fields>"');
        return;
      }
      [rxNames, txNames] = names;
      return;
    }
    if (line.trim() === '') return;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (name === '') {
      out.problems.push(`a line without an interface name: "${line.trim().slice(0, 40)}"`);
      return;
    }
    const count = wordSpans(line, colon + 1, line.length, spans); // the values, read in place
    if (rxNames.length === 0 || count !== rxNames.length + txNames.length) {
      out.problems.push(`${name}: ${count} values, expected ${rxNames.length + txNames.length}`);
      return;
    }
    const dev: NetDevice = { name, rx: {}, tx: {} };
    for (let i = 0; i < count; i++) {
      const v = decimalAt(line, spans[2 * i], spans[2 * i + 1]);
      const [group, field] = i < rxNames.length ? [dev.rx, rxNames[i]] : [dev.tx, txNames[i - rxNames.length]];
      if (v !== undefined) group[field] = v;
      else out.problems.push(`${name} ${i < rxNames.length ? 'receive' : 'transmit'} ${field}: "${line.slice(spans[2 * i], spans[2 * i + 1]).slice(0, 24)}" is not a whole number`);
    }
    out.devices.push(dev);
  });
  if (n < 2) out.problems.push('no header lines');
  return out;
}
