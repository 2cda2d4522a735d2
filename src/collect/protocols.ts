// snmp, netstat, snmp6 → the protocol counters selected by include/exclude patterns on
// `Section_Field` names (TcpExt_ListenOverflows, Udp_RcvbufErrors, Ip6_InOctets, …).
//
// Kernel facts: the SNMP MIBs (snmp, netstat, snmp6) are kept per network namespace; TCP's count
// IPv4 and IPv6 together, IP and UDP have their IPv6 counters in snmp6. Counters only grow while
// the namespace lives (a recreated namespace starts from 0: sinks turning counters into deltas
// treat that as a reset). A field the kernel does not write (an older kernel, an ICMP type never
// seen, a file absent without IPv6) is absent, never 0.
//
// Which names exist is the kernel's business, so the selected definitions are made when a name is
// first seen and declared as one family (MetricDef.family); `max_counters` bounds how many.
import { MetricDef } from '../core/metrics';
import { nameFilter } from '../core/patterns';
import { Sample, Target } from '../core/model';
import { NetFiles } from './netfiles';
import { CollectorPlugin } from './collector';
import { LimitError } from './fields';
import { forEachSectionPair, pickWords } from '../procfs/netstat';
import { forEachNameValue, splitSnmp6Name } from '../procfs/snmp6';
import { decimal, words } from '../procfs/lines';
import { DEFAULT_INCLUDE, DEFAULT_NAMES, FAMILY_DOC, counterDef } from './protocol-names';
import { ReadPlan, readPlan } from './protocol-plan';
import { HeaderPicks, Layouts } from './protocol-layouts';

export interface ProtocolsConfig {
  selected: (name: string) => boolean;
  plan: ReadPlan;
  maxCounters: number;
}

/** A reused buffer for a text the layouts read as bytes (snmp: ~1.3 KB). */
let scratchBuf = Buffer.allocUnsafe(8 * 1024);

/** `text` as latin1 bytes in the scratch buffer (a read's text is latin1: one byte per character). */
function scratch(text: string): [Buffer, number] {
  if (scratchBuf.length < text.length) scratchBuf = Buffer.allocUnsafe(2 * text.length);
  return [scratchBuf, scratchBuf.write(text, 0, 'latin1')];
}

/** Header lines remembered (the kernel's are the same in every namespace; IcmpMsg's vary). */
const MAX_HEADERS = 64;

/**
 * The collector of one configuration. Parsing whole files cost more than reading them (netstat's
 * TcpExt line alone has ~130 values), so it reads only what its selection wants: per header line
 * the word indexes selected (remembered), per snmp6 name its definition (remembered); the rest of
 * a line is skipped, not split. A file whose lines are those of one parsed before is read in place
 * (protocol-layouts.ts).
 */
class ProtocolCounters {
  /** Section_Field → its definition, or null when not selected. */
  private readonly known = new Map<string, MetricDef | null>();
  private readonly headers = new Map<string, HeaderPicks>();
  private selectedCount = 0;
  private overflowReported = false;
  private overflow = 0;
  private readonly picked: string[] = [];
  private readonly layouts = new Map<string, Layouts>();

  constructor(private readonly cfg: ProtocolsConfig) {}

  collect(_t: Target, files: NetFiles): Sample[] {
    const out: Sample[] = [];
    for (const [file, only] of this.cfg.plan) {
      let layouts = this.layouts.get(file);
      if (!layouts) this.layouts.set(file, (layouts = new Layouts()));
      // netstat and snmp6 are this collector's alone: read in place from the reader's buffer,
      // their text made only when no layout matches. snmp's text is made by the snmp collector
      // (snmp.ts): its bytes are written into a scratch buffer and read the same way.
      const got = file === 'snmp' ? undefined : files.bytes(file);
      if (got === null) continue; // absent
      if (got !== undefined) {
        if (layouts.read(got.buf, got.len, out)) continue;
        files.keepText(file, got.buf.toString('latin1', 0, got.len));
      }
      const text = files.text(file);
      if (text === undefined) continue;
      if (got === undefined && layouts.read(...scratch(text), out)) continue;
      const problems: string[] = [];
      if (file === 'snmp6') this.snmp6(text, problems, out);
      else this.table(text, only, problems, out);
      files.damaged(file, problems);
      if (problems.length > 0) continue;
      // Parsed clean: the next text with the same lines is read in place.
      if (file === 'snmp6') layouts.learnSnmp6(text, (name) => this.known.get(name));
      else layouts.learnTable(text, (section, header, colon) => (only && !only.includes(section) ? undefined : this.picksOf(section, header, colon)));
    }
    if (this.overflow > 0 && !this.overflowReported) {
      this.overflowReported = true;
      files.report(new LimitError(`collectors.protocols.max_counters: more than ${this.cfg.maxCounters} counters are selected; the names seen after that are left out (narrow collectors.protocols.include or raise the limit)`));
    }
    return out;
  }

  private table(text: string, only: readonly string[] | undefined, problems: string[], out: Sample[]): void {
    forEachSectionPair(text, problems, (section, header, values, colon) => {
      if (only && !only.includes(section)) return;
      const h = this.picksOf(section, header, colon);
      if (h.picks.length === 0) return;
      const got = this.picked;
      const count = pickWords(values, colon + 1, h.picks, got);
      if (count !== h.count) {
        problems.push(`${section}: ${h.count} names but ${count} values`);
        return;
      }
      for (let k = 0; k < h.picks.length; k++) this.put(h.defs[k], got[k], section, problems, out);
    });
  }

  private snmp6(text: string, problems: string[], out: Sample[]): void {
    forEachNameValue(text, problems, (name, value) => {
      let def = this.known.get(name);
      if (def === undefined) {
        const sf = splitSnmp6Name(name);
        if (!sf) {
          problems.push(`not a "<Section>6<Field> <value>" line: "${name} ${value}"`.slice(0, 80));
          return;
        }
        def = this.defOf(sf[0], sf[1]);
        this.remember(name, def);
      }
      if (def) this.put(def, value, name, problems, out);
    });
  }

  private put(def: MetricDef, word: string, where: string, problems: string[], out: Sample[]): void {
    const v = decimal(word, true);
    if (v === undefined) problems.push(`${where} ${def.key}: "${word.slice(0, 24)}" is not a whole number`);
    // Only a setting (a gauge such as Tcp MaxConn -1) may be negative.
    else if (v >= 0 || def.kind === 'gauge') out.push({ def, value: v });
  }

  private picksOf(section: string, header: string, colon: number): HeaderPicks {
    let h = this.headers.get(header);
    if (h) return h;
    const names = words(header, colon + 1);
    h = { count: names.length, picks: [], defs: [] };
    names.forEach((field, i) => {
      const def = this.defOf(section, field);
      if (def) {
        h!.picks.push(i);
        h!.defs.push(def);
      }
    });
    if (this.headers.size >= MAX_HEADERS) {
      this.headers.clear();
      for (const l of this.layouts.values()) l.clear(); // they hold picks of the forgotten headers
    }
    this.headers.set(header, h);
    return h;
  }

  private defOf(section: string, field: string): MetricDef | null {
    const name = `${section}_${field}`;
    let def = this.known.get(name);
    if (def !== undefined) return def;
    def = this.cfg.selected(name) ? counterDef(section, field) : null;
    if (def && this.selectedCount >= this.cfg.maxCounters) {
      this.overflow++;
      return null; // not remembered: counted again if seen again, and never emitted
    }
    if (def) this.selectedCount++;
    this.remember(name, def);
    return def;
  }

  /** Names are the kernel's (a few hundred); the bound only guards against a file gone wild. */
  private remember(name: string, def: MetricDef | null): void {
    if (this.known.size < 16 * this.cfg.maxCounters) this.known.set(name, def);
  }
}

interface Raw {
  include: string[];
  exclude: string[];
  max_counters: number;
}

export const protocols: CollectorPlugin<ProtocolsConfig> = {
  name: 'protocols',
  doc: 'protocol counters since the namespace was created, selected by name (snmp, netstat, snmp6)',
  defaultEnabled: true,
  metrics: DEFAULT_NAMES.map((n) => {
    const i = n.indexOf('_');
    return counterDef(n.slice(0, i), n.slice(i + 1));
  }),
  families: [FAMILY_DOC],
  config: {
    schema: {
      include: {
        doc: 'Counters to report: anchored regular expressions on `Section_Field` names (sections Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite of snmp; TcpExt, IpExt, MPTcpExt of netstat; Ip6, Icmp6, Udp6, UdpLite6 of snmp6). Patterns that start with literal section names (`TcpExt_.*`, `(Tcp|Udp)_.*`) read only those sections\' files. The environment form is split at commas.',
        format: 'string-list',
        default: [...DEFAULT_INCLUDE],
        env: 'SOCKPULSE_PROTOCOLS_INCLUDE',
      },
      exclude: {
        doc: 'Counters to leave out even when included: anchored regular expressions on `Section_Field` names.',
        format: 'string-list',
        default: [] as string[],
        env: 'SOCKPULSE_PROTOCOLS_EXCLUDE',
      },
      max_counters: {
        doc: 'Most counters reported per namespace; names first seen beyond it are left out, reported once as a collect error (ELIMIT).',
        format: 'positive-int',
        default: 512,
        env: 'SOCKPULSE_PROTOCOLS_MAX_COUNTERS',
      },
    },
    resolve(raw) {
      const r = raw as unknown as Raw;
      return {
        selected: nameFilter('collectors.protocols', r.include, r.exclude, false),
        plan: readPlan(r.include),
        maxCounters: r.max_counters,
      };
    },
  },
  create: (cfg) => new ProtocolCounters(cfg),
};
