// /proc/<pid>/net/snmp as sections of fields (procfs/netstat.ts parses snmp and netstat alike;
// this is its result without the list of problems, for readers that only look fields up).
import { CounterSections, parseCounterTable } from './netstat';

export type Snmp = CounterSections;

export function parseSnmp(text: string, only?: readonly string[]): Snmp {
  return parseCounterTable(text, only).sections;
}
