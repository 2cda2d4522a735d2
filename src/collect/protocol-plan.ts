// Which files (and which of their sections) the protocols collector must read for its include
// patterns. Reading a file costs a pread and a parse per namespace per cycle, so a selection that
// names its sections (`TcpExt_.*`, `(Tcp|Udp)_RetransSegs`) reads only their files; a pattern
// that does not start with literal section names (`.*Octets`) reads every file.
import { CounterFile } from './netfiles';
import { fileOf } from './protocol-names';

/** file → the sections to parse (undefined: all of them). A file not in the plan is not read. */
export type ReadPlan = Map<CounterFile, readonly string[] | undefined>;

const FILES: readonly CounterFile[] = ['snmp', 'netstat', 'snmp6'];

/**
 * The literal sections every match of an anchored `pattern` starts with, or undefined when it
 * does not fix them: `Word_…` or `(A|B)_…` / `(?:A|B)_…`, with no top-level `|` anywhere (a
 * top-level alternative could match any other name).
 */
export function sectionsOf(pattern: string): string[] | undefined {
  const m = /^(?:([A-Za-z0-9]+)|\((?:\?:)?([A-Za-z0-9]+(?:\|[A-Za-z0-9]+)*)\))_/.exec(pattern);
  if (!m || topLevelBar(pattern)) return undefined;
  return m[1] !== undefined ? [m[1]] : m[2].split('|');
}

function topLevelBar(p: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

export function readPlan(include: readonly string[]): ReadPlan {
  const plan: ReadPlan = new Map();
  const wanted = new Map<CounterFile, Set<string>>();
  for (const p of include) {
    const sections = sectionsOf(p);
    if (sections === undefined) return new Map(FILES.map((f) => [f, undefined]));
    for (const s of sections) {
      // A section this list does not know may be a newer kernel's: look for it in snmp and netstat.
      const file = fileOf(s);
      for (const f of file ? [file] : (['snmp', 'netstat'] as const)) {
        if (!wanted.has(f)) wanted.set(f, new Set());
        wanted.get(f)!.add(s);
      }
    }
  }
  for (const f of FILES) if (wanted.has(f)) plan.set(f, f === 'snmp6' ? undefined : [...wanted.get(f)!]);
  return plan;
}
