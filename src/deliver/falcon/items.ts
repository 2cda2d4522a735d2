// Points → Open-Falcon push items. Pure: no I/O, no clock. Everything here mirrors the push
// contract (falcon-plus's agent and transfer; test/helpers/falcon-receiver.ts implements it), so
// an item that leaves this file is one the transfer accepts.
//
// Item: {endpoint, metric, timestamp, step, value, counterType, tags}
//   metric       `${prefix}.${def.falcon}` (just def.falcon when the prefix is empty)
//   counterType  GAUGE for levels, COUNTER for monotonic counters (def.kind)
//   tags         `k=v,k2=v2`: a namespace's labels (scope, container, …, copied labels), in
//                TARGET_LABEL_KEYS order then copy_labels order; the host target's own points
//                carry only `scope=host`; host-wide and agent points carry only their point
//                labels (sink, reason, stage). Empty values are left out.
//   naming agent the falcon-plus agent's own names and tags where it has the metric (agentItem)
//   endpoint     the template with {host} {container} {pod} {namespace} filled in; a placeholder
//                with no value falls back to the host name, and points of the host (the host
//                target, host-wide numbers, the agent itself) always use the host name.
// Labels left out to fit `metric/tags` in 255 characters (fitTags) are reported in
// Encoded.trimmed, one entry per namespace (all its series lose the same labels): the sink logs
// each once while it lasts and counts every label left out of every point it sends
// (sockpulse.agent.sink.labels_dropped, unit {label}; a separate counter from sink.dropped, which
// counts whole points lost).
import { createHash } from 'crypto';
import { Target } from '../../core/model';
import { MetricDef } from '../../core/metrics';
import { Point, TARGET_LABEL_KEYS, hasLabels, targetLabels } from '../points';
import { label } from '../../core/labels';

export interface FalconItem {
  endpoint: string;
  metric: string;
  timestamp: number;
  step: number;
  value: number;
  counterType: 'GAUGE' | 'COUNTER';
  tags: string;
}

/** The transfer drops an item when len(metric) + len(tags) exceeds this many bytes. */
export const TRANSFER_MAX_BYTES = 510;
/** Graph indexes `metric/tags` and endpoints in varchar(255) columns (graph-db-schema.sql). */
export const COUNTER_MAX_CHARS = 255;
export const ENDPOINT_MAX_CHARS = 255;
/** Longest tag key or value; longer ones are cut and end in a hash of the original (see sanitize). */
export const TAG_PART_MAX = 63;
/** Tags that say which namespace a point is about: never dropped to make an item fit. */
const KEEP = new Set(['scope', 'container', 'pod', 'namespace']);
const PLACEHOLDERS = ['host', 'container', 'pod', 'namespace'] as const;

/**
 * Makes a tag key, tag value or endpoint part safe. The exact rule:
 * 1. every code point outside [A-Za-z0-9_.:/@-] becomes one `_` — so `,` `=` (tag syntax), spaces
 *    (the transfer deletes them), control characters, quotes and all non-ASCII (graph's MySQL
 *    columns are 3-byte utf8) can neither split nor inject a tag, and length in bytes = in chars;
 * 2. a result longer than TAG_PART_MAX (63) keeps its first 54 characters, then `-` and the first
 *    8 hex digits of the SHA-1 of the original string, so long names stay distinct series.
 * Distinct inputs that differ only in replaced characters (`a,b` and `a_b`) become the same value.
 */
export function sanitize(s: string): string {
  const out = s.replace(/[^A-Za-z0-9_.:/@-]/gu, '_');
  if (out.length <= TAG_PART_MAX) return out;
  const hash = createHash('sha1').update(s, 'utf8').digest('hex').slice(0, 8);
  return `${out.slice(0, TAG_PART_MAX - 9)}-${hash}`;
}

/** Throws (naming the key) on a placeholder other than {host} {container} {pod} {namespace}. */
export function checkEndpointTemplate(template: string): void {
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1])) {
      throw new Error(`sinks.falcon.endpoint: unknown placeholder {${m[1]}}; allowed: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
    }
  }
  if (template.trim() === '') throw new Error('sinks.falcon.endpoint: must not be empty (default {host})');
}

/** Throws unless the prefix is empty or dotted words of [A-Za-z0-9_-] (a `/` would split the counter). */
export function checkPrefix(prefix: string): void {
  if (prefix !== '' && !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new Error(`sinks.falcon.prefix: "${prefix}" must be dotted words of letters, digits, _ and - (or empty)`);
  }
}

export interface ItemContext {
  prefix: string;
  endpoint: string;
  hostname: string;
  step: number;
  timestamp: number;
  copyLabels: readonly string[];
  /** Every metric the agent can emit (the namespace ones fix the longest name tags are fitted to). */
  catalog: readonly MetricDef[];
  /** `agent`: see agentItem. Default sockpulse. */
  naming?: 'sockpulse' | 'agent';
}

/**
 * naming `agent`: a point of a container (or pod) whose endpoint is its own, of a metric the
 * falcon-plus agent also reports (MetricDef.agent), goes out as the agent sends it: its name
 * without prefix and its tags only (the labels its definition gives an agent tag: `iface=<name>` on
 * interface counters; none otherwise), so the
 * series is `ss.estab` of endpoint `web-1`, as a host's is `ss.estab` of its own endpoint. Points
 * whose endpoint falls back to the host name, and the host's own, keep sockpulse names: the host's
 * agent reports those itself, and two writers of one series would overwrite each other.
 */
function agentItem(p: Point, endpoint: string, c: ItemContext): { metric: string; tags: string } | undefined {
  if (c.naming !== 'agent' || !p.def.agent || !p.target || p.target.scope === 'host' || endpoint === c.hostname) return undefined;
  const tags = (p.def.labels ?? []).flatMap((l) => {
    const v = l.agentTag === undefined ? undefined : label(p.labels, l.key);
    return v === undefined ? [] : [`${l.agentTag}=${sanitize(v)}`];
  });
  return { metric: p.def.agent, tags: tags.join(',') };
}

export function endpointOf(p: Point, c: ItemContext): string {
  const t = p.target;
  if (!t || t.scope === 'host') return c.hostname;
  return c.endpoint.replace(/\{(host|container|pod|namespace)\}/g, (_m, key: string) => {
    const v = key === 'host' ? '' : label(t.labels, key) ?? '';
    return v === '' ? c.hostname : sanitize(v);
  });
}

/** Ordered [key, value] pairs of a point, before sanitising. */
export function tagPairs(p: Point, copyLabels: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  if (p.target) pairs.push(...targetPairs(p.target, copyLabels));
  pairs.push(...Object.entries(p.labels));
  return pairs.filter(([, v]) => v !== '');
}

function targetPairs(t: Target, copyLabels: readonly string[]): [string, string][] {
  if (t.scope === 'host') return [['scope', 'host']];
  const labels = targetLabels(t);
  const order = [...TARGET_LABEL_KEYS, ...copyLabels];
  const known = order.filter((k, i) => labels[k] !== undefined && order.indexOf(k) === i);
  const rest = Object.keys(labels).filter((k) => !order.includes(k)).sort();
  return [...known, ...rest].map((k) => [k, labels[k]]);
}

const joinTags = (pairs: [string, string][]): string => pairs.map(([k, v]) => `${k}=${v}`).join(',');
const metricName = (prefix: string, def: MetricDef): string => (prefix === '' ? def.falcon : `${prefix}.${def.falcon}`);

/**
 * Sanitised tags that fit `metric/tags` in COUNTER_MAX_CHARS for a metric name of `metricLength`,
 * dropping the lowest-priority tags (the last in order, never scope/container/pod/namespace or a
 * point's own labels) first; the sanitised pairs dropped are added to `dropped`. Undefined when
 * even the kept tags do not fit.
 */
export function fitTags(metricLength: number, pairs: [string, string][], pointLabels: Record<string, string> = {}, dropped: [string, string][] = []): string | undefined {
  const clean: [string, string, boolean][] = [];
  for (const [k, v] of pairs) {
    const key = sanitize(k);
    // Two keys that sanitise alike would repeat a key; the transfer keeps the last, we the first.
    if (!clean.some(([seen]) => seen === key)) clean.push([key, sanitize(v), KEEP.has(k) || k in pointLabels]);
  }
  for (;;) {
    const tags = joinTags(clean.map(([k, v]) => [k, v]));
    if (metricLength + (tags === '' ? 0 : 1 + tags.length) <= COUNTER_MAX_CHARS) return tags;
    let i = clean.length - 1;
    while (i >= 0 && clean[i][2]) i--;
    if (i < 0) return undefined;
    const [[k, v]] = clean.splice(i, 1);
    dropped.unshift([k, v]);
  }
}

/** Why the transfer would drop this item (its rules, in its order), or undefined when it keeps it. */
export function transferRejects(i: FalconItem): string | undefined {
  if (i.metric === 'kernel.hostname') return 'reserved_metric';
  if (i.metric === '' || i.endpoint === '') return 'empty_metric_or_endpoint';
  if (i.counterType !== 'GAUGE' && i.counterType !== 'COUNTER') return 'bad_counter_type';
  if (!Number.isFinite(i.value)) return 'value_not_finite'; // JSON would carry it as null
  if (!Number.isSafeInteger(i.step) || i.step <= 0) return 'bad_step'; // a float step 400s the batch
  if (!Number.isSafeInteger(i.timestamp)) return 'bad_timestamp'; // so does a float timestamp
  if (Buffer.byteLength(i.metric) + Buffer.byteLength(i.tags) > TRANSFER_MAX_BYTES) return 'too_long';
  return undefined;
}

export interface Encoded {
  items: FalconItem[];
  /** reason → items dropped before sending. */
  invalid: Record<string, number>;
  /** Items sent with labels left out, one entry per namespace (or per other tag set). */
  trimmed: Trimmed[];
}

export interface Trimmed {
  endpoint: string;
  /** The namespace's tags sent (without a sample's own labels, such as its interface). */
  tags: string;
  /** The sanitised labels left out, `k=v` each. */
  dropped: string[];
  /** Items sent with these tags. */
  items: number;
}

export function encodePoints(points: Point[], c: ItemContext): Encoded {
  const e = new ItemEncoder(c);
  const { items, invalid } = e.encode(points);
  return { items, invalid, trimmed: e.trimmed() };
}

/**
 * encodePoints for one batch taken in parts: the encoder remembers each target's tags and
 * endpoint, each metric's name and the trimmed tag sets across its calls, so a batch can be
 * encoded (and sent on) a slice at a time with the items of only one slice alive.
 */
export class ItemEncoder {
  /**
   * A namespace's tags are fitted to the longest metric name it can have, so all its series carry
   * the same tags (and are all kept or all dropped), whichever metric they are.
   */
  private readonly longest: number;
  private readonly perTarget = new Map<Target, { tags: string | undefined; endpoint: string; cut: [string, string][] }>();
  private readonly names = new Map<MetricDef, string>();
  private readonly trimmedSets = new Map<string, Trimmed>();

  constructor(private readonly c: ItemContext) {
    this.longest = Math.max(...c.catalog.filter((d) => d.scope === 'namespace').map((d) => metricName(c.prefix, d).length));
  }

  /** Items sent with labels left out so far, one entry per namespace (or per other tag set). */
  trimmed(): Trimmed[] {
    return [...this.trimmedSets.values()];
  }

  encode(points: Point[]): Omit<Encoded, 'trimmed'> {
    const { c, longest, perTarget } = this;
    const items: FalconItem[] = [];
    const invalid: Record<string, number> = {};
    const drop = (why: string): void => {
      invalid[why] = (invalid[why] ?? 0) + 1;
    };
    for (const p of points) {
      let metric = this.names.get(p.def);
      if (metric === undefined) this.names.set(p.def, (metric = metricName(c.prefix, p.def)));
      let tags: string | undefined;
      let endpoint: string;
      let cut: [string, string][] = [];
      if (p.target && metric.length <= longest && !hasLabels(p)) {
        let t = perTarget.get(p.target);
        if (!t) {
          const fitted = fitTags(longest, tagPairs(p, c.copyLabels), {}, cut);
          perTarget.set(p.target, (t = { tags: fitted, endpoint: endpointOf(p, c), cut }));
        }
        ({ tags, endpoint, cut } = t);
      } else {
        tags = fitTags(p.target ? Math.max(longest, metric.length) : metric.length, tagPairs(p, c.copyLabels), p.labels, cut);
        endpoint = endpointOf(p, c);
      }
      const asAgent = agentItem(p, endpoint, c);
      if (asAgent) ({ metric, tags, cut } = { ...asAgent, cut: [] }); // the target's labels are in the endpoint
      if (tags === undefined) {
        drop('too_long');
        continue;
      }
      if (endpoint.length > ENDPOINT_MAX_CHARS) {
        drop('endpoint_too_long');
        continue;
      }
      const item: FalconItem = {
        endpoint,
        metric,
        timestamp: c.timestamp,
        step: c.step,
        value: p.value,
        counterType: p.def.kind === 'counter' ? 'COUNTER' : 'GAUGE',
        tags,
      };
      const why = transferRejects(item);
      if (why) {
        drop(why);
        continue;
      }
      items.push(item);
      if (cut.length > 0) {
        const dropped = cut.map(([k, v]) => `${k}=${v}`);
        // One entry per namespace: a sample's own labels (an interface) are the last tags, left aside.
        const own = p.target ? Object.values(p.labels).filter((v) => v !== '').length : 0;
        const nsTags = own === 0 ? tags : tags.split(',').slice(0, -own).join(',');
        const key = `${endpoint}\0${nsTags}\0${dropped.join(',')}`;
        const t = this.trimmedSets.get(key) ?? { endpoint, tags: nsTags, dropped, items: 0 };
        t.items++;
        this.trimmedSets.set(key, t);
      }
    }
    return { items, invalid };
  }
}
