// snmp → established. `Tcp: CurrEstab` is per network namespace and counts IPv4 and IPv6
// sockets in ESTABLISHED (and, since 6.10, CLOSE_WAIT) state.
import { Sample, Target } from '../core/model';
import { NetFiles } from './netfiles';
import { Collector } from './collector';

export class SnmpCollector implements Collector {
  readonly name = 'snmp';

  collect(_target: Target, files: NetFiles): Sample[] {
    const estab = files.snmp().Tcp?.CurrEstab;
    if (estab === undefined || estab < 0) {
      files.malformed('snmp', ['Tcp CurrEstab']);
      return [];
    }
    return [{ key: 'established', value: estab, kind: 'gauge' }];
  }
}
