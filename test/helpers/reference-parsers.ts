// The parsers as they were before they read values in place (git 6eccf19: src/procfs/sockstat.ts,
// netstat.ts, netdev.ts): line and word strings, no caches. Kept here only as the reference the
// faster ones must equal on any text (test/unit/fast-parsers.test.ts).
import { decimal, forEachLine, words } from '../../src/procfs/lines';
import { CounterTable, forEachSectionPair } from '../../src/procfs/netstat';
import { NetDev, NetDevice } from '../../src/procfs/netdev';
import { Sockstat } from '../../src/procfs/sockstat';

export function refSockstat(text: string): Sockstat {
  const out: Sockstat = {};
  forEachLine(text, (line) => {
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const w = words(line, colon + 1);
    const fields: Record<string, number> = {};
    for (let i = 0; i + 1 < w.length; i += 2) {
      const value = decimal(w[i + 1]);
      if (value !== undefined) fields[w[i]] = value;
    }
    out[line.slice(0, colon).trim()] = fields;
  });
  return out;
}

export function refCounterTable(text: string, only?: readonly string[]): CounterTable {
  const out: CounterTable = { sections: {}, problems: [] };
  forEachSectionPair(text, out.problems, (section, header, line, colon) => {
    if (only && !only.includes(section)) return;
    const names = words(header, colon + 1);
    const vals = words(line, colon + 1);
    if (names.length !== vals.length) {
      out.problems.push(`${section}: ${names.length} names but ${vals.length} values`);
      return;
    }
    const fields: Record<string, number> = {};
    for (let j = 0; j < names.length; j++) {
      const n = decimal(vals[j], true);
      if (n !== undefined) fields[names[j]] = n;
      else out.problems.push(`${section} ${names[j]}: "${vals[j].slice(0, 24)}" is not a whole number`);
    }
    out.sections[section] = fields;
  });
  return out;
}

export function refNetDev(text: string): NetDev {
  const out: NetDev = { devices: [], problems: [] };
  let n = 0;
  let rxNames: string[] = [];
  let txNames: string[] = [];
  forEachLine(text, (line) => {
    n++;
    if (n === 1) return;
    if (n === 2) {
      const parts = line.split('|');
      if (parts.length !== 3) {
        out.problems.push('the second header line is not "face |<receive fields>|<transmit fields>"');
        return;
      }
      rxNames = words(parts[1]);
      txNames = words(parts[2]);
      return;
    }
    if (line.trim() === '') return;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (name === '') {
      out.problems.push(`a line without an interface name: "${line.trim().slice(0, 40)}"`);
      return;
    }
    const vals = words(line, colon + 1);
    if (rxNames.length === 0 || vals.length !== rxNames.length + txNames.length) {
      out.problems.push(`${name}: ${vals.length} values, expected ${rxNames.length + txNames.length}`);
      return;
    }
    const dev: NetDevice = { name, rx: {}, tx: {} };
    vals.forEach((w, i) => {
      const v = decimal(w);
      const [group, field] = i < rxNames.length ? [dev.rx, rxNames[i]] : [dev.tx, txNames[i - rxNames.length]];
      if (v !== undefined) group[field] = v;
      else out.problems.push(`${name} ${i < rxNames.length ? 'receive' : 'transmit'} ${field}: "${w.slice(0, 24)}" is not a whole number`);
    });
    out.devices.push(dev);
  });
  if (n < 2) out.problems.push('no header lines');
  return out;
}
