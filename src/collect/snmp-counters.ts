// snmp → monotonic per-namespace counters (the kernel's SNMP MIB is kept per network namespace).
// They only ever grow while the namespace lives; a namespace that is recreated starts from 0,
// which sinks turning counters into deltas must treat as a reset, not a negative step.
import { MetricDef, namespaceCounter } from '../core/metrics';
import { CollectorPlugin } from './collector';

/** sample key → [snmp protocol, field]. */
const FIELDS: Record<string, [string, string]> = {
  tcp_active_opens: ['Tcp', 'ActiveOpens'],
  tcp_passive_opens: ['Tcp', 'PassiveOpens'],
  tcp_attempt_fails: ['Tcp', 'AttemptFails'],
  tcp_estab_resets: ['Tcp', 'EstabResets'],
  tcp_retrans_segs: ['Tcp', 'RetransSegs'],
  tcp_in_errs: ['Tcp', 'InErrs'],
  tcp_out_rsts: ['Tcp', 'OutRsts'],
  udp_in_datagrams: ['Udp', 'InDatagrams'],
  udp_out_datagrams: ['Udp', 'OutDatagrams'],
  udp_no_ports: ['Udp', 'NoPorts'],
  udp_in_errors: ['Udp', 'InErrors'],
  udp_rcvbuf_errors: ['Udp', 'RcvbufErrors'],
  udp_sndbuf_errors: ['Udp', 'SndbufErrors'],
};

const COUNTERS: [MetricDef, string, string][] = Object.entries(FIELDS).map(([key, [proto, field]]) => {
  const [fam, ...rest] = key.split('_');
  const tail = rest.join('_');
  const def = namespaceCounter({
    key,
    falcon: `${fam}.${tail}`,
    prom: `sockpulse_${key}_total`,
    otel: `sockpulse.${fam}.${tail}`,
    unit: fam === 'udp' ? '{datagram}' : /segs|rsts|errs/.test(tail) ? '{segment}' : '{connection}',
    help: `${proto} ${field} since the namespace was created`,
    source: `snmp ${proto}: ${field}`,
  });
  return [def, proto, field];
});

export const snmpCounters: CollectorPlugin<void> = {
  name: 'snmp_counters',
  doc: 'TCP and UDP counters since the namespace was created (snmp Tcp:, Udp:)',
  defaultEnabled: true,
  metrics: COUNTERS.map(([def]) => def),
  create: () => ({
    collect(_target, files) {
      const snmp = files.snmp();
      const out = [];
      for (const [def, proto, field] of COUNTERS) {
        const v = snmp[proto]?.[field];
        // Absent (older kernel, damaged section) is left out; a counter is never negative.
        if (v !== undefined && v >= 0) out.push({ def, value: v });
      }
      return out;
    },
  }),
};
