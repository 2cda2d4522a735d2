// One batch's points → the Prometheus text exposition of exactly those points and nothing else.
//
// The values are read from the kernel (or the agent's own counters), not counted here, so every
// family is a scrape-time constant, the way Prometheus exporters proxy third-party state
// ("ConstMetrics"): a prom-client Counter cannot be set, and reset()+inc() on a live Counter is
// what prom-client's maintainers call an anti-pattern (prometheus/client_js#192).
// The text is written here, byte for byte what prom-client's Registry writes for the same
// families (HELP/TYPE lines, escaping of label values and help text, number formatting, blank
// line between families; test/unit/prometheus-registry.test.ts compares the two), because the
// Registry formats every series' labels anew: at 1000 namespaces that was ~100 MB of short-lived
// strings per page (measured with a heap profile of the daemon). Here a target's label text is made once per page
// and each series is one line.
//
// Labels of a namespace-scoped series, in this order:
//   TARGET_LABEL_KEYS (scope, container, …, netns_name), `netns` (the namespace inode), then the
//   configured copy labels under their Prometheus names (copyLabelNames). A missing value is "".
// `netns` is the target's identity: without it two namespaces with no container labels (scope
// "netns") would be one series. `pid` is left out: it names whichever member process was read,
// changes when that process is replaced while the namespace lives on, and would split one
// namespace's history into several series without identifying anything `netns` does not.
// Host-wide series have no labels; agent series have their own (stage, sink, reason).
import { Target } from '../../core/model';
import { MetricDef, sampleLabelKeys } from '../../core/metrics';
import { Point, hasLabels } from '../points';
import { TARGET_LABEL_KEYS, label } from '../../core/labels';

/** Names a copy label may not take: a target's, and the target labels Prometheus attaches on scrape (with the samples' own: copyLabelNames). */
const TAKEN = [...TARGET_LABEL_KEYS, 'netns', 'job', 'instance'];

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
export function copyLabelNames(copy: readonly string[], catalog: readonly MetricDef[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set([...TAKEN, ...sampleLabelKeys(catalog)]);
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

/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE: text format 0.0.4. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** One series: its label text (`{k="v",…}` or empty) and its value. */
interface Series {
  labels: string;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  series: Series[];
  /** Label texts already in this family: a second point with the same labels is a duplicate. */
  seen: Set<string>;
}

/** A page: its text on demand (it is rendered only when scraped), and the content type. */
export interface Page {
  readonly contentType: string;
  /** The page as UTF-8 bytes in pieces of about CHUNK_CHARS, made as they are asked for. */
  chunks(): Generator<Buffer>;
  /** The whole page as UTF-8 bytes. */
  render(): Buffer;
  /** The page as text (what prom-client's `Registry.metrics()` gives). */
  metrics(): Promise<string>;
}

/**
 * Size of the pieces a page is rendered in: small enough that no piece is a large object for V8
 * (~128 KB), so each dies young instead of waiting for a full GC.
 */
const CHUNK_CHARS = 32 * 1024;

export interface Exposition {
  registry: Page;
  /** Series exposed. */
  series: number;
  /** Points left out because an earlier point had the same name and labels. */
  duplicates: number;
}

/** The exposition of exactly `points`, families in catalog order. */
export function buildExposition(points: Point[], copyNames: ReadonlyMap<string, string>, catalog: readonly MetricDef[]): Exposition {
  const families = new Map<string, Family>();
  // A target's label text is made once, not once per metric: 1000 namespaces × 18 metrics.
  const byTarget = new Map<Target, string>();
  const labelsOf = (p: Point): string => {
    if (!p.target || hasLabels(p)) {
      return labelText(p.target ? { ...targetSeriesLabels(p.target, copyNames), ...p.labels } : p.labels);
    }
    let text = byTarget.get(p.target);
    if (text === undefined) byTarget.set(p.target, (text = labelText(targetSeriesLabels(p.target, copyNames))));
    return text;
  };
  let series = 0;
  let duplicates = 0;
  for (const p of points) {
    const labels = labelsOf(p);
    let f = families.get(p.def.prom);
    if (!f) families.set(p.def.prom, (f = { name: p.def.prom, help: p.def.help, type: p.def.kind, series: [], seen: new Set() }));
    if (f.seen.has(labels)) {
      duplicates++;
      continue;
    }
    f.seen.add(labels);
    f.series.push({ labels, value: baseUnit(p.def, p.value) });
    series++;
  }
  const order = catalogOrder(catalog);
  const rank = (name: string): number => order.get(name) ?? catalog.length;
  const ordered = [...families.values()].sort((a, b) => rank(a.name) - rank(b.name));
  for (const f of ordered) f.seen.clear(); // only needed while building
  return { registry: page(ordered), series, duplicates };
}

function page(families: readonly Family[]): Page {
  const chunks = (): Generator<Buffer> => pageChunks(families);
  const render = (): Buffer => Buffer.concat([...chunks()]);
  return { contentType: CONTENT_TYPE, chunks, render, metrics: async () => render().toString('utf8') };
}

/**
 * The page's lines, a piece at a time. Families are separated by a blank line and the page ends
 * with a newline (an empty page is just the newline).
 */
function* pageChunks(families: readonly Family[]): Generator<Buffer> {
  let lines: string[] = [];
  let chars = 0;
  const add = (line: string): Buffer | undefined => {
    lines.push(line);
    chars += line.length + 1;
    if (chars < CHUNK_CHARS) return undefined;
    const b = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    lines = [];
    chars = 0;
    return b;
  };
  for (let i = 0; i < families.length; i++) {
    const f = families[i];
    const name = escapeText(f.name);
    const out = [add(`# HELP ${name} ${escapeText(f.help)}`), add(`# TYPE ${name} ${f.type}`)];
    for (const b of out) if (b) yield b;
    for (const s of f.series) {
      const b = add(`${name}${s.labels} ${valueText(s.value)}`);
      if (b) yield b;
    }
    if (i < families.length - 1) {
      const b = add('');
      if (b) yield b;
    }
  }
  yield Buffer.from(lines.length > 0 ? `${lines.join('\n')}\n` : families.length === 0 ? '\n' : '', 'utf8');
}

/** `{k="v",…}` in the labels' order, or "" without labels; values escaped as prom-client does. */
function labelText(labels: Record<string, string>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${escapeText(v).replace(/"/g, '\\"')}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/** Backslash and newline escaped (HELP text, names, and label values before their quotes). */
function escapeText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** prom-client's number text: Nan, +Inf, -Inf, else JavaScript's. */
function valueText(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
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
  return { registry: page([]), series: 0, duplicates: 0 };
}

const orders = new WeakMap<readonly MetricDef[], Map<string, number>>();
function catalogOrder(catalog: readonly MetricDef[]): Map<string, number> {
  let m = orders.get(catalog);
  if (!m) orders.set(catalog, (m = new Map(catalog.map((d, i) => [d.prom, i]))));
  return m;
}
