// Names of the protocol counters (collect/protocols.ts): which file holds a section, the default
// selection, and the metric definition of a `Section_Field`.
//
// The 13 counters sockpulse read before the protocols collector existed keep the names users
// chart (`tcp.retrans_segs`, `sockpulse_tcp_retrans_segs_total`, …); every other field is named
// after its section and field, like node_exporter's netstat collector, in snake case where the
// backend's conventions want it (promtool rejects camel case):
//   key `TcpExt_ListenOverflows`, Open-Falcon/StatsD `netstat.TcpExt.ListenOverflows`,
//   Prometheus `sockpulse_netstat_tcp_ext_listen_overflows_total`,
//   OTLP `sockpulse.netstat.tcp_ext.listen_overflows`,
// whichever file the section is in (snmp, netstat or snmp6): section names are unique across them.
import { MetricDef, namespaceCounter, namespaceGauge } from '../core/metrics';
import { CounterFile } from './netfiles';

export const FAMILY = 'netstat';

const SNMP_SECTIONS = ['Ip', 'Icmp', 'IcmpMsg', 'Tcp', 'Udp', 'UdpLite'];
const NETSTAT_SECTIONS = ['TcpExt', 'IpExt', 'MPTcpExt'];

/** The file a section is in; undefined for a section this kernel list does not know. */
export function fileOf(section: string): CounterFile | undefined {
  if (SNMP_SECTIONS.includes(section)) return 'snmp';
  if (NETSTAT_SECTIONS.includes(section)) return 'netstat';
  return /^[A-Za-z]+6$/.test(section) ? 'snmp6' : undefined;
}

/**
 * The default selection: what operators alert on. TCP's MIB counts IPv4 and IPv6 together (snmp
 * Tcp, netstat TcpExt); IP and UDP have separate IPv6 counters in snmp6 (Ip6, Udp6).
 */
export const DEFAULT_INCLUDE: readonly string[] = [
  'Tcp_(ActiveOpens|PassiveOpens|AttemptFails|EstabResets|RetransSegs|InErrs|OutRsts)',
  'Udp_(InDatagrams|OutDatagrams|NoPorts|InErrors|RcvbufErrors|SndbufErrors)',
  'TcpExt_(ListenOverflows|ListenDrops|TCPTimeouts|TCPAbortOnTimeout|TCPAbortOnMemory|TCPBacklogDrop|TCPLostRetransmit|TCPSynRetrans)',
  'IpExt_(InOctets|OutOctets)',
  'Ip6_(InOctets|OutOctets)',
  'Udp6_(InDatagrams|OutDatagrams|NoPorts|InErrors|RcvbufErrors|SndbufErrors)',
];

/** Every name the default selection holds, in DEFAULT_INCLUDE's order (for the metric reference). */
export const DEFAULT_NAMES: readonly string[] = DEFAULT_INCLUDE.flatMap((p) => {
  const m = /^(\w+)_\(([\w|]+)\)$/.exec(p)!;
  return m[2].split('|').map((f) => `${m[1]}_${f}`);
});

/** Today's names of the 13 counters read before: Section_Field → sample key. */
const LEGACY: Record<string, string> = {
  Tcp_ActiveOpens: 'tcp_active_opens',
  Tcp_PassiveOpens: 'tcp_passive_opens',
  Tcp_AttemptFails: 'tcp_attempt_fails',
  Tcp_EstabResets: 'tcp_estab_resets',
  Tcp_RetransSegs: 'tcp_retrans_segs',
  Tcp_InErrs: 'tcp_in_errs',
  Tcp_OutRsts: 'tcp_out_rsts',
  Udp_InDatagrams: 'udp_in_datagrams',
  Udp_OutDatagrams: 'udp_out_datagrams',
  Udp_NoPorts: 'udp_no_ports',
  Udp_InErrors: 'udp_in_errors',
  Udp_RcvbufErrors: 'udp_rcvbuf_errors',
  Udp_SndbufErrors: 'udp_sndbuf_errors',
};

/** Fields of snmp that are settings or levels, not counters. */
const GAUGES = new Set(['Ip_Forwarding', 'Ip_DefaultTTL', 'Tcp_RtoAlgorithm', 'Tcp_RtoMin', 'Tcp_RtoMax', 'Tcp_MaxConn', 'Tcp_CurrEstab']);

function legacyDef(name: string, section: string, field: string): MetricDef {
  const key = LEGACY[name];
  const [fam, ...rest] = key.split('_');
  const tail = rest.join('_');
  return namespaceCounter({
    key,
    falcon: `${fam}.${tail}`,
    prom: `sockpulse_${key}_total`,
    otel: `sockpulse.${fam}.${tail}`,
    unit: fam === 'udp' ? '{datagram}' : /segs|rsts|errs/.test(tail) ? '{segment}' : '{connection}',
    help: `${section} ${field} since the namespace was created`,
    source: `snmp ${section}: ${field}`,
    family: FAMILY,
    ...agentName(section, field),
  });
}

/**
 * The falcon-plus agent's names: `TcpExt.<Field>` (it sends 23 chosen TcpExt fields; any other
 * follows the same rule) and `snmp.Udp.<Field>` (every Udp field), both COUNTER.
 */
function agentName(section: string, field: string): { agent?: string } {
  if (section === 'TcpExt') return { agent: `TcpExt.${field}` };
  if (section === 'Udp') return { agent: `snmp.Udp.${field}` };
  return {};
}

/**
 * Kernel camel case → snake case: a word starts at an upper-case letter after a lower-case letter
 * or digit, and at the last capital of a run followed by a lower-case letter
 * (`TCPAbortOnTimeout` → `tcp_abort_on_timeout`, `Ip6` → `ip6`, `InType3` → `in_type3`).
 */
export function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** The definition of one counter; `Section_Field` is `name`. Pure: equal input, equal output. */
export function counterDef(section: string, field: string): MetricDef {
  const name = `${section}_${field}`;
  if (Object.hasOwn(LEGACY, name)) return legacyDef(name, section, field);
  const gauge = GAUGES.has(name);
  const names = {
    key: name,
    falcon: `netstat.${section}.${field}`,
    prom: `sockpulse_netstat_${snake(section)}_${snake(field)}${gauge ? '' : '_total'}`,
    otel: `sockpulse.netstat.${snake(section)}.${snake(field)}`,
    unit: /Octets$/.test(field) ? 'By' : '1',
    help: gauge ? `${section} ${field} (a setting or level, not a counter)` : `${section} ${field} since the namespace was created`,
    source: `${fileOf(section) ?? 'netstat'} ${section}: ${field}`,
    family: FAMILY,
    ...agentName(section, field),
  };
  return gauge ? namespaceGauge(names) : namespaceCounter(names);
}

/** How the family's names are made, for the metric reference. */
export const FAMILY_DOC: MetricDef = namespaceCounter({
  key: '<Section>_<Field>',
  falcon: 'netstat.<Section>.<Field>',
  prom: 'sockpulse_netstat_<section>_<field>_total',
  otel: 'sockpulse.netstat.<section>.<field>',
  unit: '1 (By for *Octets)',
  help: 'Any counter of snmp (Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite), netstat (TcpExt, IpExt, MPTcpExt) or snmp6 (Ip6, Icmp6, Udp6, UdpLite6) selected by collectors.protocols.include/exclude',
  source: 'snmp, netstat, snmp6 (selected fields); <section> and <field> are the kernel names in snake case (TcpExt → tcp_ext, TCPAbortOnTimeout → tcp_abort_on_timeout); the settings Ip_Forwarding, Ip_DefaultTTL, Tcp_Rto*, Tcp_MaxConn, Tcp_CurrEstab are gauges without `_total`',
  family: FAMILY,
  agent: 'TcpExt.<Field>, snmp.Udp.<Field>',
});
