// StatsD line encoding: a point's name, labels and value → the exact text on the wire. Pure.
//
// Line formats (NAME = escaped prefix + "." + catalog `falcon` name; TYPE = g | c):
//   dogstatsd  NAME:VALUE|TYPE|#k1:v1,k2:v2        (no "|#" part when a point has no labels)
//   telegraf   NAME,k1=v1,k2=v2:VALUE|TYPE
//   none       NAME.k1.v1.k2.v2:VALUE|TYPE         (labels folded into the dotted name)
// Several lines share a datagram, separated by "\n" (TCP: each write ends with "\n").
//
// Escaping (the whole rule; it is what makes a label value unable to break a line or inject a
// metric, whatever a container, image or netns name holds):
//   - tag keys and values (dogstatsd, telegraf): every code point outside [A-Za-z0-9_.-] becomes
//     one "_"  (so ":", "|", "#", ",", "=", "@", "/", whitespace, newlines, control characters,
//     quotes and all non-ASCII are replaced; "a,b" → "a_b", "nginx:1.25" → "nginx_1.25");
//   - name segments in `none` (keys and values): the same, and "." becomes "_" too, so a value is
//     exactly one segment;
//   - the prefix: like tag values, then empty segments are dropped ("a..b." → "a.b").
//   Labels with an empty value are left out. There is no length limit: an over-long line travels
//   alone in its datagram. The replacement is lossy (as in Datadog and Prometheus): two raw values
//   that differ only in replaced characters share a series.
// Lines are ASCII. With dogstatsd and none, the statsd daemon's own sanitiser (whitespace → "_",
// "/" → "-", anything outside [A-Za-z0-9_.;=-] removed) leaves the stored `name;k=v` unchanged;
// telegraf-style names are for Telegraf (the statsd daemon strips their ",").
//
// Values: gauges are sent as set values. A number with a leading "+" or "-" is a *delta* to a
// StatsD gauge that exists, so a negative gauge (none is expected) goes out as "0" then the value,
// in this order in one datagram. Counters carry increments (never negative). Non-finite values
// are not encodable. Numbers never use exponent notation.
import { Point, TARGET_LABEL_KEYS, targetLabels } from '../points';
import { MetricDef } from '../../core/metrics';

export type TagStyle = 'dogstatsd' | 'telegraf' | 'none';
export const TAG_STYLES: readonly TagStyle[] = ['dogstatsd', 'telegraf', 'none'];
export type Label = readonly [key: string, value: string];

const UNSAFE_TAG = /[^A-Za-z0-9_.-]/gu;
const UNSAFE_SEGMENT = /[^A-Za-z0-9_-]/gu;

export function escapeTag(s: string): string {
  return s.replace(UNSAFE_TAG, '_');
}

export function escapeSegment(s: string): string {
  return s.replace(UNSAFE_SEGMENT, '_');
}

export function escapePrefix(prefix: string): string {
  return escapeTag(prefix).split('.').filter(Boolean).join('.');
}

/** The full metric name: escaped prefix (may be empty) + the catalog's dotted name. */
export function metricName(escapedPrefix: string, falcon: string): string {
  return escapedPrefix ? `${escapedPrefix}.${falcon}` : falcon;
}

const ORDER = new Map<string, number>([...TARGET_LABEL_KEYS, 'stage', 'sink', 'reason'].map((k, i) => [k, i]));

/**
 * Labels in a fixed order: the known keys first (points.ts order), then the keys `def` declares
 * for its samples (MetricDef.labels) in its order, then the others by name.
 */
export function orderedLabels(labels: Record<string, string>, def?: MetricDef): Label[] {
  const own = def?.labels;
  const rank = (k: string): number => {
    const r = ORDER.get(k);
    if (r !== undefined) return r;
    const i = own ? own.findIndex((l) => l.key === k) : -1;
    return i >= 0 ? ORDER.size + i : ORDER.size + (own?.length ?? 0);
  };
  return Object.entries(labels)
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * What a point is tagged with: a namespace point its target's labels (points.ts `targetLabels`,
 * which names an unnamed netns `netns-<inode>`); the host target only `scope:host`; host-wide and
 * agent points only their own labels (stage, sink, reason). A sample's own labels (`interface`)
 * follow its target's.
 */
export function pointLabels(p: Point): Label[] {
  if (!p.target) return orderedLabels(p.labels, p.def);
  const own = orderedLabels(p.labels, p.def);
  return p.target.scope === 'host' ? [['scope', 'host'], ...own] : [...orderedLabels(targetLabels(p.target)), ...own];
}

/** Decimal text of a finite number, without exponent; undefined when not finite. */
export function formatValue(v: number): string | undefined {
  if (!Number.isFinite(v)) return undefined;
  const s = String(v);
  if (!/e/i.test(s)) return s;
  return v.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

/**
 * The labels' part of a line, escaped: `|#k:v,…` (dogstatsd), `,k=v…` (telegraf), `.k.v…` (none);
 * empty without labels. Made once per label set and reused for each of its lines.
 */
export type EncodedTags = string & { readonly encodedTags: unique symbol };

export function encodeTags(labels: readonly Label[], style: TagStyle): EncodedTags {
  switch (style) {
    case 'dogstatsd': {
      const tags = labels.map(([k, v]) => `${escapeTag(k)}:${escapeTag(v)}`).join(',');
      return (tags ? `|#${tags}` : '') as EncodedTags;
    }
    case 'telegraf':
      return labels.map(([k, v]) => `,${escapeTag(k)}=${escapeTag(v)}`).join('') as EncodedTags;
    case 'none':
      return labels.map(([k, v]) => `.${escapeSegment(k)}.${escapeSegment(v)}`).join('') as EncodedTags;
  }
}

function line(name: string, tags: EncodedTags, value: string, type: 'g' | 'c', style: TagStyle): string {
  return style === 'dogstatsd' ? `${name}:${value}|${type}${tags}` : `${name}${tags}:${value}|${type}`;
}

export function encodeLine(name: string, labels: readonly Label[], value: string, type: 'g' | 'c', style: TagStyle): string {
  return line(name, encodeTags(labels, style), value, type, style);
}

/** A gauge's line(s): one set, or "0" then the negative value; undefined when not encodable. */
export function gaugeLines(name: string, labels: readonly Label[] | EncodedTags, v: number, style: TagStyle): string[] | undefined {
  const value = formatValue(v);
  if (value === undefined) return undefined;
  const tags = typeof labels === 'string' ? labels : encodeTags(labels, style);
  const set = line(name, tags, value, 'g', style);
  return v < 0 ? [line(name, tags, '0', 'g', style), set] : [set];
}

/** A counter increment's line; undefined when not a finite number >= 0. */
export function counterLine(name: string, labels: readonly Label[] | EncodedTags, delta: number, style: TagStyle): string | undefined {
  const value = delta >= 0 ? formatValue(delta) : undefined;
  if (value === undefined) return undefined;
  return line(name, typeof labels === 'string' ? labels : encodeTags(labels, style), value, 'c', style);
}

/**
 * Groups items, as they come, into payloads of at most `maxBytes` (items joined by one separator
 * byte), in order. An item larger than `maxBytes` travels alone.
 */
export class Packer<T> {
  private group: T[] = [];
  private size = 0;

  constructor(private readonly bytes: (t: T) => number, private readonly maxBytes: number) {}

  /** Adds an item; returns the payload it closed (the items before it), if it did not fit there. */
  add(item: T): { items: T[]; bytes: number } | undefined {
    const n = this.bytes(item);
    let full: { items: T[]; bytes: number } | undefined;
    if (this.group.length > 0 && this.size + 1 + n > this.maxBytes) full = this.end();
    this.size += (this.group.length > 0 ? 1 : 0) + n;
    this.group.push(item);
    return full;
  }

  /** The open payload (undefined when empty), and a fresh start. */
  end(): { items: T[]; bytes: number } | undefined {
    if (this.group.length === 0) return undefined;
    const out = { items: this.group, bytes: this.size };
    this.group = [];
    this.size = 0;
    return out;
  }
}
