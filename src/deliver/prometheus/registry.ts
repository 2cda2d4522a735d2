// One batch's points → a prom-client Registry that holds exactly those points and nothing else.
//
// The values are read from the kernel (or the agent's own counters), not counted here, so every
// family is a scrape-time constant, the way Prometheus exporters proxy third-party state
// ("ConstMetrics"): a prom-client Counter cannot be set, and reset()+inc() on a live Counter is
// what prom-client's maintainers call an anti-pattern (prometheus/client_js#192). The Registry still does the exposition: HELP/TYPE lines,
// escaping of label values and help text, number formatting and the content type.
//
// Labels of a namespace-scoped series, in this order:
//   TARGET_LABEL_KEYS (scope, container, …, netns_name), `netns` (the namespace inode), then the
//   configured copy labels under their Prometheus names (copyLabelNames). A missing value is "".
// `netns` is the target's identity: without it two namespaces with no container labels (scope
// "netns") would be one series. `pid` is left out: it names whichever member process was read,
// changes when that process is replaced while the namespace lives on, and would split one
// namespace's history into several series without identifying anything `netns` does not.
// Host-wide series have no labels; agent series have their own (stage, sink, reason).
import { Metric, Registry } from 'prom-client';
import { Target } from '../../core/model';
import { MetricDef } from '../../core/metrics';
import { Point } from '../points';
import { POINT_LABEL_KEYS, TARGET_LABEL_KEYS, label } from '../../core/labels';

/** Names a copy label may not take: ours (a target's and a sample's), and the target labels Prometheus attaches on scrape. */
const TAKEN = new Set<string>([...TARGET_LABEL_KEYS, ...POINT_LABEL_KEYS, 'netns', 'job', 'instance']);

/**
 * Docker label key (docker.copy_labels) → Prometheus label name, in configuration order.
 * - a key that already is a sockpulse label (`image`, `pod`, …) is not repeated: discovery keeps
 *   one value under that key (core/labels.ts), exposed once under its own name (`scope` is
 *   always the target's scope);
 * - every character outside [a-zA-Z0-9_] becomes `_`, and a leading digit gets a `_` in front
 *   (`com.example/team` → `com_example_team`, `1st` → `_1st`);
 * - a result that starts with `__` (reserved by Prometheus), is one of sockpulse's label names,
 *   `netns`, `job` or `instance`, or was taken by an earlier copy label gets `label_` in front
 *   (`pod.uid` → `label_pod_uid`, `__x` → `label___x`), then `_2`, `_3`… if still taken.
 */
export function copyLabelNames(copy: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set(TAKEN);
  for (const key of copy) {
    if (out.has(key) || (TARGET_LABEL_KEYS as readonly string[]).includes(key)) continue;
    let name = key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(?=[0-9]|$)/, '_');
    if (name.startsWith('__') || used.has(name)) name = `label_${name}`;
    for (let i = 2, base = name; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    out.set(key, name);
  }
  return out;
}

interface Series {
  labels: Record<string, string>;
  value: number;
}

/** A scrape-time constant family; Registry calls only get() (and reset() from resetMetrics()). */
class ConstFamily {
  readonly aggregator = 'sum';
  readonly values: Series[] = [];
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'gauge') {}
  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values };
  }
  reset(): void {}
}

export interface Exposition {
  registry: Registry;
  /** Series exposed. */
  series: number;
  /** Points left out because an earlier point had the same name and labels. */
  duplicates: number;
}

/** A Registry holding exactly `points`, families in catalog order. */
export function buildExposition(points: Point[], copyNames: ReadonlyMap<string, string>, catalog: readonly MetricDef[]): Exposition {
  const families = new Map<string, ConstFamily>();
  const seen = new Set<string>();
  // A target's label set is made (and keyed) once, not once per metric: 1000 namespaces × 18 metrics.
  const byTarget = new Map<Target, [Record<string, string>, string]>();
  const labelsOf = (p: Point): [Record<string, string>, string] => {
    if (!p.target || Object.keys(p.labels).length > 0) {
      const l = p.target ? { ...targetSeriesLabels(p.target, copyNames), ...p.labels } : p.labels;
      return [l, JSON.stringify(l)];
    }
    let c = byTarget.get(p.target);
    if (!c) {
      const l = targetSeriesLabels(p.target, copyNames);
      byTarget.set(p.target, (c = [l, JSON.stringify(l)]));
    }
    return c;
  };
  let series = 0;
  let duplicates = 0;
  for (const p of points) {
    const [labels, key] = labelsOf(p);
    const id = `${p.def.prom}${key}`;
    if (seen.has(id)) {
      duplicates++;
      continue;
    }
    seen.add(id);
    let f = families.get(p.def.prom);
    if (!f) families.set(p.def.prom, (f = new ConstFamily(p.def.prom, p.def.help, p.def.kind)));
    f.values.push({ labels, value: baseUnit(p.def, p.value) });
    series++;
  }
  const registry = new Registry();
  const order = catalogOrder(catalog);
  const rank = (name: string): number => order.get(name) ?? catalog.length;
  for (const f of [...families.values()].sort((a, b) => rank(a.name) - rank(b.name))) {
    registry.registerMetric(f as unknown as Metric);
  }
  return { registry, series, duplicates };
}

function targetSeriesLabels(t: Target, copyNames: ReadonlyMap<string, string>): Record<string, string> {
  // scope comes from the target itself: a copied Docker label named `scope` must not replace it.
  const out: Record<string, string> = { scope: t.scope };
  for (const k of TARGET_LABEL_KEYS) if (k !== 'scope') out[k] = label(t.labels, k) ?? '';
  out.netns = String(t.netns);
  for (const [key, name] of copyNames) out[name] = label(t.labels, key) ?? '';
  return out;
}

/** Kernel pages → bytes, milliseconds → seconds; rounded to 15 digits so 0.001 × 7 reads 0.007. */
function baseUnit(def: MetricDef, value: number): number {
  const f = def.toBaseUnit ?? 1;
  return f === 1 ? value : Number((value * f).toPrecision(15));
}

/** The page before the first cycle: valid and empty. */
export function emptyExposition(): Exposition {
  return { registry: new Registry(), series: 0, duplicates: 0 };
}

const orders = new WeakMap<readonly MetricDef[], Map<string, number>>();
function catalogOrder(catalog: readonly MetricDef[]): Map<string, number> {
  let m = orders.get(catalog);
  if (!m) orders.set(catalog, (m = new Map(catalog.map((d, i) => [d.prom, i]))));
  return m;
}
