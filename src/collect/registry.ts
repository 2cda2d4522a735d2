// The collectors: the only list of them. Adding a collector = its file (plugin + collector), its
// parser in procfs/ if it reads a new kernel file, its tests and fixtures, and one line here.
// The configuration schema, the metric catalog and the generated references follow from this list.
import { AGENT_METRICS, MetricDef } from '../core/metrics';
import { AnyCollectorPlugin } from './collector';
import { snmp } from './snmp';
import { sockstat } from './sockstat';
import { protocols } from './protocols';
import { interfaces } from './interfaces';
import { orphans } from './orphans';
import { tcpStates } from './tcp-states';
import { conntrack } from './conntrack';
import { flows } from './flows/plugin';

export const COLLECTORS: readonly AnyCollectorPlugin[] = [sockstat, snmp, protocols, orphans, tcpStates, conntrack, interfaces, flows];

/** Every metric sockpulse can emit: the collectors' (registry order), then the agent's own. */
export function catalog(collectors: readonly AnyCollectorPlugin[] = COLLECTORS): MetricDef[] {
  return [...collectors.flatMap((c) => c.metrics), ...AGENT_METRICS];
}
