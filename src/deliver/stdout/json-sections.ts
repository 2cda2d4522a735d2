// The JSON document's sections for samples with labels of their own, as their definitions ask
// (core/metrics.ts MetricDef.json): no collector is named here. One label → an object by the
// label's value (`interfaces: { eth0: { if_rx_bytes: 381, … } }`); several → rows of the labels
// and the values (`flows: [{ direction, class, proto, bytes, packets }]`), sorted as declared.
import { TargetSamples } from '../../core/model';
import { JsonPlace, MetricDef } from '../../core/metrics';

type Row = Record<string, string | number>;

interface Section {
  place: JsonPlace;
  keys: readonly string[];
  /** Label values joined → the object or row they name, in the order first seen. */
  entries: Map<string, Row>;
}

/** The target's labelled samples by section; a sample whose definition has no place is left to the caller's other fields. */
export function labelledSections(r: TargetSamples): Record<string, Record<string, Row> | Row[]> {
  const sections = new Map<string, Section>();
  for (const s of r.samples) {
    const place = s.def.json;
    if (!s.labels || !place) continue;
    let sec = sections.get(place.section);
    if (!sec) sections.set(place.section, (sec = { place, keys: labelKeys(s.def), entries: new Map() }));
    const values = sec.keys.map((k) => s.labels![k] ?? '');
    const id = JSON.stringify(values);
    let entry = sec.entries.get(id);
    if (!entry) sec.entries.set(id, (entry = sec.keys.length === 1 ? {} : Object.fromEntries(sec.keys.map((k, i) => [k, values[i]]))));
    entry[place.field ?? s.def.key] = s.value;
  }
  const out: Record<string, Record<string, Row> | Row[]> = {};
  for (const [name, sec] of sections) {
    out[name] = sec.keys.length === 1
      ? Object.fromEntries([...sec.entries].map(([id, row]) => [(JSON.parse(id) as string[])[0], row]))
      : [...sec.entries.values()].sort(byOrder(sec.place.order ?? sec.keys.map((key) => ({ key }))));
  }
  return out;
}

function labelKeys(def: MetricDef): string[] {
  return (def.labels ?? []).map((l) => l.key);
}

/** Rows compared label by label: a label's listed values first, in their order, then by name. */
function byOrder(order: NonNullable<JsonPlace['order']>): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const { key, values } of order) {
      const x = String(a[key] ?? '');
      const y = String(b[key] ?? '');
      if (x === y) continue;
      const rank = (v: string): number => (values?.includes(v) ? values.indexOf(v) : values?.length ?? 0);
      return rank(x) - rank(y) || (x < y ? -1 : 1);
    }
    return 0;
  };
}
