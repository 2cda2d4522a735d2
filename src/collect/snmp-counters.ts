// snmp → monotonic per-namespace counters (the kernel's SNMP MIB is kept per network namespace).
// They only ever grow while the namespace lives; a namespace that is recreated starts from 0,
// which sinks turning counters into deltas must treat as a reset, not a negative step.
import { Sample, Target } from '../core/model';
import { NetFiles } from './netfiles';
import { Collector } from './collector';

/** sample key → [snmp protocol, field]. */
export const SNMP_COUNTERS: Record<string, [string, string]> = {
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

export class SnmpCountersCollector implements Collector {
  readonly name = 'snmp_counters';

  collect(_target: Target, files: NetFiles): Sample[] {
    const snmp = files.snmp();
    const out: Sample[] = [];
    for (const [key, [proto, field]] of Object.entries(SNMP_COUNTERS)) {
      const v = snmp[proto]?.[field];
      // Absent (older kernel, damaged section) is left out; a counter is never negative.
      if (v !== undefined && v >= 0) out.push({ key, value: v, kind: 'counter' });
    }
    return out;
  }
}
