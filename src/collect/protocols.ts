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
import { DEFAULT_INCLUDE, DEFAULT_NAMES, FAMILY_DOC, counterDef } from './protocol-names';
import { ReadPlan, readPlan } from './protocol-plan';

export interface ProtocolsConfig {
  selected: (name: string) => boolean;
  plan: ReadPlan;
  maxCounters: number;
}

/** The collector of one configuration: its selection is remembered per name, up to a bound. */
class ProtocolCounters {
  /** Section_Field → its definition, or null when not selected. */
  private readonly known = new Map<string, MetricDef | null>();
  private selectedCount = 0;
  private overflowReported = false;
  private overflow = 0;

  constructor(private readonly cfg: ProtocolsConfig) {}

  collect(_t: Target, files: NetFiles): Sample[] {
    const out: Sample[] = [];
    for (const [file, only] of this.cfg.plan) {
      const table = files.counters(file, only);
      if (table === undefined) continue;
      for (const section of Object.keys(table.sections)) {
        const fields = table.sections[section];
        for (const field of Object.keys(fields)) {
          const def = this.defOf(section, field);
          const v = fields[field];
          // Only a setting (a gauge such as Tcp MaxConn -1) may be negative.
          if (def && (v >= 0 || def.kind === 'gauge')) out.push({ def, value: v });
        }
      }
    }
    if (this.overflow > 0 && !this.overflowReported) {
      this.overflowReported = true;
      files.report(new LimitError(`collectors.protocols.max_counters: more than ${this.cfg.maxCounters} counters are selected; the names seen after that are left out (narrow collectors.protocols.include or raise the limit)`));
    }
    return out;
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
    // Names are the kernel's (a few hundred); the bound only guards against a file gone wild.
    if (this.known.size < 16 * this.cfg.maxCounters) this.known.set(name, def);
    return def;
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
