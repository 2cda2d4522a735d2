// snmp → established. `Tcp: CurrEstab` is per network namespace and counts IPv4 and IPv6
// sockets in ESTABLISHED (and, since 6.10, CLOSE_WAIT) state.
import { namespaceGauge } from '../core/metrics';
import { CollectorPlugin } from './collector';

const established = namespaceGauge({
  key: 'established', falcon: 'estab', prom: 'sockpulse_tcp_established', otel: 'sockpulse.tcp.established', unit: '{connection}', agent: 'ss.estab',
  help: 'TCP connections in ESTABLISHED (and CLOSE_WAIT since Linux 6.10), IPv4+IPv6', source: 'snmp Tcp: CurrEstab',
});

export const snmp: CollectorPlugin<void> = {
  name: 'snmp',
  doc: 'established connections (snmp Tcp: CurrEstab)',
  defaultEnabled: true,
  priority: 90,
  metrics: [established],
  create: () => ({
    collect(_target, files) {
      const estab = files.currEstab();
      if (estab === undefined || estab < 0) {
        files.malformed('snmp', ['Tcp CurrEstab']);
        return [];
      }
      return [{ def: established, value: estab }];
    },
  }),
};
