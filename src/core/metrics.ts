// Every metric sockpulse emits, named once for every backend. Sinks never invent names: they look
// the definition up here, so the README's metric reference and all four backends agree.
//   falcon     dotted name after the configured prefix (Open-Falcon and StatsD). No name is both a
//              leaf and a parent (Graphite behind StatsD cannot have a node that is both).
//   prom       Prometheus name (base units, `_total` on counters)
//   otel       OpenTelemetry instrument name, with `unit` in UCUM
import * as fs from 'fs';
import { SNMP_COUNTERS } from '../collect/snmp-counters';

export type Scope = 'namespace' | 'host' | 'agent';

export interface MetricDef {
  /** Sample key (collectors) or self-metric key. */
  key: string;
  kind: 'gauge' | 'counter';
  /** namespace: one series per target; host: host-wide kernel number, once; agent: self-metric. */
  scope: Scope;
  help: string;
  /** Kernel source, for the metric reference. */
  source: string;
  falcon: string;
  prom: string;
  otel: string;
  unit: string;
  /** Multiply the value by this for prom/otel (kernel pages → bytes). Falcon/StatsD keep the raw value. */
  toBaseUnit?: () => number;
}

let pageSize: number | undefined;
/** The kernel's page size, for `mem` fields counted in pages. */
export function kernelPageSize(): number {
  if (pageSize === undefined) {
    const m = /^KernelPageSize:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/smaps', 'latin1').slice(0, 4096));
    pageSize = m ? Number(m[1]) * 1024 : 4096;
  }
  return pageSize;
}

const ns = (key: string, falcon: string, prom: string, otel: string, unit: string, help: string, source: string): MetricDef => ({
  key, kind: 'gauge', scope: 'namespace', falcon, prom, otel, unit, help, source,
});
const host = (key: string, falcon: string, prom: string, otel: string, unit: string, help: string, source: string, toBaseUnit?: () => number): MetricDef => ({
  key, kind: 'gauge', scope: 'host', falcon, prom, otel, unit, help, source, ...(toBaseUnit ? { toBaseUnit } : {}),
});

/** The six statistics and the host-wide fields. */
export const STAT_METRICS: MetricDef[] = [
  ns('established', 'estab', 'sockpulse_tcp_established', 'sockpulse.tcp.established', '{connection}', 'TCP connections in ESTABLISHED (and CLOSE_WAIT since Linux 6.10), IPv4+IPv6', 'snmp Tcp: CurrEstab'),
  ns('inuse', 'inuse', 'sockpulse_tcp_inuse', 'sockpulse.tcp.inuse', '{socket}', 'TCP sockets in use (listening and connected, not TIME_WAIT), IPv4+IPv6', 'sockstat TCP: inuse + sockstat6 TCP6: inuse'),
  ns('timewait', 'timewait', 'sockpulse_tcp_timewait', 'sockpulse.tcp.timewait', '{socket}', 'TCP sockets in TIME_WAIT, IPv4+IPv6', 'sockstat TCP: tw'),
  ns('total', 'total', 'sockpulse_sockets_used', 'sockpulse.sockets.used', '{socket}', 'Sockets of every family in use (TCP, UDP, unix, netlink, …), not TIME_WAIT', 'sockstat sockets: used'),
  ns('udp', 'udp.inuse', 'sockpulse_udp_inuse', 'sockpulse.udp.inuse', '{socket}', 'UDP sockets in use, IPv4+IPv6', 'sockstat UDP: inuse + sockstat6 UDP6: inuse'),
  host('orphan', 'host.orphaned', 'sockpulse_host_tcp_orphans', 'sockpulse.host.tcp.orphans', '{socket}', 'Orphaned TCP sockets (no process), whole host', 'sockstat TCP: orphan (host-wide)'),
  host('tcp_alloc', 'host.tcp_alloc', 'sockpulse_host_tcp_allocated', 'sockpulse.host.tcp.allocated', '{socket}', 'TCP sockets allocated, whole host', 'sockstat TCP: alloc (host-wide)'),
  host('tcp_mem_pages', 'host.tcp_mem_pages', 'sockpulse_host_tcp_memory_bytes', 'sockpulse.host.tcp.memory', 'By', 'Memory used by TCP buffers, whole host (Falcon/StatsD: pages)', 'sockstat TCP: mem (host-wide, pages)', kernelPageSize),
  host('udp_mem_pages', 'host.udp_mem_pages', 'sockpulse_host_udp_memory_bytes', 'sockpulse.host.udp.memory', 'By', 'Memory used by UDP buffers, whole host (Falcon/StatsD: pages)', 'sockstat UDP: mem (host-wide, pages)', kernelPageSize),
];

/** Monotonic per-namespace counters from snmp. */
export const COUNTER_METRICS: MetricDef[] = Object.entries(SNMP_COUNTERS).map(([key, [proto, field]]) => {
  const [fam, ...rest] = key.split('_');
  const tail = rest.join('_');
  return {
    key,
    kind: 'counter',
    scope: 'namespace',
    falcon: `${fam}.${tail}`,
    prom: `sockpulse_${key}_total`,
    otel: `sockpulse.${fam}.${tail}`,
    unit: fam === 'udp' ? '{datagram}' : /segs|rsts|errs/.test(tail) ? '{segment}' : '{connection}',
    help: `${proto} ${field} since the namespace was created`,
    source: `snmp ${proto}: ${field}`,
  };
});

const agent = (key: string, kind: 'gauge' | 'counter', unit: string, help: string, promUnit = ''): MetricDef => ({
  key,
  kind,
  scope: 'agent',
  falcon: `agent.${key}`,
  prom: `sockpulse_agent_${key.replace(/\./g, '_')}${promUnit}${kind === 'counter' ? '_total' : ''}`,
  otel: `sockpulse.agent.${key}`,
  unit,
  help,
  source: 'sockpulse itself',
});

/**
 * Self-metrics. Labels: `stage` (discover|collect|deliver) on errors; `sink` on sink metrics;
 * `reason` on dropped. Durations are the last cycle's, in milliseconds for Falcon/StatsD and
 * seconds for Prometheus/OTLP.
 */
export const AGENT_METRICS: MetricDef[] = [
  { ...agent('cycle.discover_ms', 'gauge', 's', 'Duration of the last discovery stage'), prom: 'sockpulse_agent_discover_duration_seconds', otel: 'sockpulse.agent.cycle.discover.duration', toBaseUnit: () => 0.001 },
  { ...agent('cycle.collect_ms', 'gauge', 's', 'Duration of the last collection stage'), prom: 'sockpulse_agent_collect_duration_seconds', otel: 'sockpulse.agent.cycle.collect.duration', toBaseUnit: () => 0.001 },
  { ...agent('cycle.deliver_ms', 'gauge', 's', 'Duration of the previous cycle\'s delivery stage'), prom: 'sockpulse_agent_deliver_duration_seconds', otel: 'sockpulse.agent.cycle.deliver.duration', toBaseUnit: () => 0.001 },
  agent('targets', 'gauge', '{target}', 'Network namespaces read in the last cycle'),
  agent('skipped', 'gauge', '{target}', 'Namespaces skipped in the last cycle (process left, or none readable)'),
  agent('cycles', 'counter', '{cycle}', 'Cycles run since start'),
  agent('ticks_skipped', 'counter', '{tick}', 'Ticks skipped because the previous cycle was still running'),
  agent('errors', 'counter', '{error}', 'Errors by stage since start'),
  agent('sink.sent', 'counter', '{point}', 'Points a sink delivered'),
  agent('sink.retried', 'counter', '{attempt}', 'Delivery attempts a sink retried'),
  agent('sink.dropped', 'counter', '{point}', 'Points a sink dropped, by reason'),
  agent('sink.invalid', 'counter', '{point}', 'Points the backend reported invalid'),
  agent('sink.labels_dropped', 'counter', '{label}', 'Labels a sink left out of points\' tags to fit the backend\'s limits'),
  agent('sink.buffered', 'gauge', '{point}', 'Points waiting in a sink\'s buffer'),
  { ...agent('sink.last_success', 'gauge', 's', 'Unix time of a sink\'s last successful delivery'), prom: 'sockpulse_agent_sink_last_success_timestamp_seconds' },
];

export const ALL_METRICS: MetricDef[] = [...STAT_METRICS, ...COUNTER_METRICS, ...AGENT_METRICS];
const BY_KEY = new Map(ALL_METRICS.map((d) => [`${d.scope === 'agent' ? 'agent:' : ''}${d.key}`, d]));

export function metricDef(key: string): MetricDef | undefined {
  return BY_KEY.get(key);
}

export function agentMetricDef(key: string): MetricDef {
  const d = BY_KEY.get(`agent:${key}`);
  if (!d) throw new Error(`no agent metric ${key}`);
  return d;
}
