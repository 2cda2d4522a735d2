// What a metric is, named once for every backend. Collectors declare their metrics (collect/),
// the agent's own metrics are declared here; sinks never invent names: every sample carries its
// definition, so the README's metric reference and all four backends agree.
//   falcon     dotted name after the configured prefix (Open-Falcon and StatsD). No name is both a
//              leaf and a parent (Graphite behind StatsD cannot have a node that is both).
//   prom       Prometheus name (base units, `_total` on counters)
//   otel       OpenTelemetry instrument name, with `unit` in UCUM
//   agent      the falcon-plus agent's name for the same number, when it has one (sinks.falcon.naming)
import * as fs from 'fs';

/** namespace: one series per target; host: a host-wide kernel number, once; agent: self-metric. */
export type MetricScope = 'namespace' | 'host' | 'agent';

export interface MetricDef {
  /** Sample key (collectors) or self-metric key. */
  key: string;
  kind: 'gauge' | 'counter';
  scope: MetricScope;
  help: string;
  /** Kernel source, for the metric reference. */
  source: string;
  falcon: string;
  prom: string;
  otel: string;
  unit: string;
  /**
   * Multiply the value by this for prom/otel (kernel pages → bytes, ms → s). Falcon/StatsD keep
   * the raw value. A number, so a definition is plain data (a batch can be cloned).
   */
  toBaseUnit?: number;
  /**
   * The family a generated definition belongs to (e.g. `netstat`): a collector that selects its
   * metrics from configuration declares the family (collect/collector.ts `families`) instead of
   * every member, and the collect stage accepts any member of a family it declared.
   */
  family?: string;
  /**
   * The Open-Falcon agent's own name for the same number (falcon-plus modules/agent/funcs:
   * `ss.estab`, `TcpExt.ListenOverflows`, `snmp.Udp.InErrors`, `net.if.in.bytes`), used by the
   * Open-Falcon sink's `naming: agent`; absent when the agent has no such metric.
   */
  agent?: string;
  /**
   * The labels its samples carry themselves (Sample.labels), in order, for a metric with several
   * series per namespace (an interface's, a flow class's); `otel`: the attribute name OTLP gives
   * the label when the semantic conventions have one. Absent: one sample per namespace, no labels.
   * The sinks and the configuration take the keys from here (sampleLabelKeys), never from a list
   * of their own.
   */
  labels?: readonly SampleLabel[];
  /** Where the JSON document puts the samples of a metric with labels (required with `labels`). */
  json?: JsonPlace;
}

/** A label of a metric's samples (MetricDef.labels). */
export interface SampleLabel {
  key: string;
  /** The OTLP attribute name, when the semantic conventions have one. */
  otel?: string;
  /** The tag the falcon-plus agent gives the same label (`iface`), for `sinks.falcon.naming: agent`. */
  agentTag?: string;
}

/**
 * The JSON document's place for a labelled metric's samples, under each target: `section` holds,
 * for metrics with one label, an object by that label's value (`interfaces: { eth0: {…} }`), for
 * metrics with several, rows of the labels and the values (`flows: [{ direction, class, proto,
 * bytes, packets }]`), each value under `field` (default: the metric key). Rows are sorted by
 * `order`: each label by its listed values first, then by name.
 */
export interface JsonPlace {
  section: string;
  field?: string;
  order?: readonly { key: string; values?: readonly string[] }[];
}

/** Every sample label key the definitions declare, each once, in order of first declaration. */
export function sampleLabelKeys(defs: Iterable<MetricDef>): string[] {
  const keys: string[] = [];
  for (const d of defs) for (const l of d.labels ?? []) if (!keys.includes(l.key)) keys.push(l.key);
  return keys;
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

type Names = Pick<MetricDef, 'key' | 'falcon' | 'prom' | 'otel' | 'unit' | 'help' | 'source'> & Pick<MetricDef, 'family' | 'agent' | 'labels' | 'json'>;

/** A per-namespace gauge. */
export const namespaceGauge = (n: Names): MetricDef => ({ kind: 'gauge', scope: 'namespace', ...n });
/** A per-namespace monotonic counter. */
export const namespaceCounter = (n: Names): MetricDef => ({ kind: 'counter', scope: 'namespace', ...n });
/** A host-wide gauge: the same in every namespace, so reported once, on the host target. */
export const hostGauge = (n: Names, toBaseUnit?: number): MetricDef => ({ kind: 'gauge', scope: 'host', ...n, ...(toBaseUnit ? { toBaseUnit } : {}) });

const agent = (key: string, kind: 'gauge' | 'counter', unit: string, help: string): MetricDef => ({
  key,
  kind,
  scope: 'agent',
  falcon: `agent.${key}`,
  prom: `sockpulse_agent_${key.replace(/\./g, '_')}${kind === 'counter' ? '_total' : ''}`,
  otel: `sockpulse.agent.${key}`,
  unit,
  help,
  source: 'sockpulse itself',
});

/**
 * Self-metrics. Labels: `stage` (discover|collect|deliver) on errors; `collector` on collector
 * metrics; `sink` on sink metrics; `reason` on dropped. Durations are the last cycle's, in
 * milliseconds for Falcon/StatsD and seconds for Prometheus/OTLP.
 */
export const AGENT_METRICS: readonly MetricDef[] = [
  { ...agent('cycle.discover_ms', 'gauge', 's', 'Duration of the last discovery stage'), prom: 'sockpulse_agent_discover_duration_seconds', otel: 'sockpulse.agent.cycle.discover.duration', toBaseUnit: 0.001 },
  { ...agent('cycle.collect_ms', 'gauge', 's', 'Duration of the last collection stage'), prom: 'sockpulse_agent_collect_duration_seconds', otel: 'sockpulse.agent.cycle.collect.duration', toBaseUnit: 0.001 },
  { ...agent('cycle.deliver_ms', 'gauge', 's', 'Duration of the previous cycle\'s delivery stage'), prom: 'sockpulse_agent_deliver_duration_seconds', otel: 'sockpulse.agent.cycle.deliver.duration', toBaseUnit: 0.001 },
  agent('targets', 'gauge', '{target}', 'Network namespaces read in the last cycle'),
  agent('skipped', 'gauge', '{target}', 'Namespaces skipped in the last cycle (process left, or none readable)'),
  agent('cycles', 'counter', '{cycle}', 'Cycles run since start'),
  agent('ticks_skipped', 'counter', '{tick}', 'Ticks skipped because the previous cycle was still running'),
  agent('errors', 'counter', '{error}', 'Errors by stage since start'),
  { ...agent('collector.duration_ms', 'gauge', 's', 'Time one collector spent over all namespaces in the last cycle'), prom: 'sockpulse_agent_collector_duration_seconds', otel: 'sockpulse.agent.collector.duration', toBaseUnit: 0.001 },
  agent('collector.errors', 'counter', '{error}', 'Errors of one collector since start'),
  agent('collector.unresolved', 'gauge', '{target}', 'Namespaces a budgeted collector left without a value in the last cycle (absent, not 0)'),
  agent('collector.series', 'gauge', '{series}', 'Series one collector made in the last cycle, before the max_series budget'),
  agent('collector.series_dropped', 'counter', '{series}', 'Series of one collector the max_series budget dropped since start'),
  agent('sink.sent', 'counter', '{point}', 'Points a sink delivered'),
  agent('sink.retried', 'counter', '{attempt}', 'Delivery attempts a sink retried'),
  agent('sink.dropped', 'counter', '{point}', 'Points a sink dropped, by reason'),
  agent('sink.invalid', 'counter', '{point}', 'Points the backend reported invalid'),
  agent('sink.labels_dropped', 'counter', '{label}', 'Labels a sink left out of points\' tags to fit the backend\'s limits'),
  agent('sink.buffered', 'gauge', '{point}', 'Points waiting in a sink\'s buffer'),
  { ...agent('sink.last_success', 'gauge', 's', 'Unix time of a sink\'s last successful delivery'), prom: 'sockpulse_agent_sink_last_success_timestamp_seconds' },
];

const AGENT_BY_KEY = new Map(AGENT_METRICS.map((d) => [d.key, d]));

export function agentMetricDef(key: string): MetricDef {
  const d = AGENT_BY_KEY.get(key);
  if (!d) throw new Error(`no agent metric ${key}`);
  return d;
}
