// Parser for /proc/<pid>/net/dev: the namespace's interfaces and their counters.
//   Inter-|   Receive                                                |  Transmit
//    face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
//       lo:     740      10    0    0    0     0          0         0      740      10    0    0    0     0       0          0
// Field names are taken from the second header line, not assumed: the receive and transmit
// groups are its second and third "|"-separated parts. An interface name holds no ":" (the kernel
// refuses such names), so the first ":" of a line ends the name.
import { decimalAt, isSpace, lineEnd, wordSpans, words } from './lines';

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
  // Every namespace, every cycle: lines walked by index, no line strings but the header's.
  const out: NetDev = { devices: [], problems: [] };
  let n = 0;
  let rxNames: string[] = [];
  let txNames: string[] = [];
  for (let s = 0; s < text.length; ) {
    const nl = lineEnd(text, s);
    const e = nl > s && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl; // as forEachLine: a CR before the LF is not the line's
    n++;
    if (n === 2) {
      const names = fieldNames(text.substring(s, e));
      if (names === undefined) out.problems.push('the second header line is not "face |<receive fields>|<transmit fields>"');
      else [rxNames, txNames] = names;
    } else if (n > 2) readDevice(text, s, e, rxNames, txNames, out);
    s = nl + 1;
  }
  if (n < 2) out.problems.push('no header lines');
  return out;
}

/** One interface line text[s, e) into `out` (or what is wrong with it). */
function readDevice(text: string, s: number, e: number, rxNames: string[], txNames: string[], out: NetDev): void {
  let a = s;
  while (a < e && isSpace(text.charCodeAt(a))) a++;
  if (a === e) return; // a blank line
  const colon = text.indexOf(':', s);
  let name = '';
  if (colon > s && colon < e) {
    let b = colon;
    while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
    name = text.slice(a, b);
  }
  if (name === '') {
    out.problems.push(`a line without an interface name: "${text.slice(s, e).trim().slice(0, 40)}"`);
    return;
  }
  const count = wordSpans(text, colon + 1, e, spans); // the values, read in place
  const rx = rxNames.length;
  if (rx === 0 || count !== rx + txNames.length) {
    out.problems.push(`${name}: ${count} values, expected ${rx + txNames.length}`);
    return;
  }
  const dev: NetDevice = { name, rx: {}, tx: {} };
  for (let i = 0; i < count; i++) {
    const v = decimalAt(text, spans[2 * i], spans[2 * i + 1]);
    const field = i < rx ? rxNames[i] : txNames[i - rx];
    if (v === undefined) out.problems.push(`${name} ${i < rx ? 'receive' : 'transmit'} ${field}: "${text.slice(spans[2 * i], spans[2 * i + 1]).slice(0, 24)}" is not a whole number`);
    else if (i < rx) dev.rx[field] = v;
    else dev.tx[field] = v;
  }
  out.devices.push(dev);
}
