// Samples with labels of their own reach the JSON document where their definitions put them
// (MetricDef.json), with no code of the collector's in the sink: a metric made up here shows up
// like the interfaces' and the flows'.
import { namespaceCounter, namespaceGauge } from '../../src/core/metrics';
import { Sample, TargetSamples } from '../../src/core/model';
import { catalog } from '../../src/collect/registry';
import { labelledSections } from '../../src/deliver/stdout/json-sections';

const target = { netns: 4026532300, pid: 300, pidStart: 1, scope: 'container' as const, containers: [], labels: {} };
const of = (samples: Sample[]): TargetSamples => ({ target, samples });

describe('labelled samples in the JSON document', () => {
  it('one label: an object by its value, each metric under its key (or the field it names)', () => {
    const depth = namespaceGauge({ key: 'queue_depth', falcon: 'q', prom: 'q', otel: 'q', unit: '1', help: '', source: '', labels: [{ key: 'queue' }], json: { section: 'queues' } });
    const drops = namespaceCounter({ key: 'queue_drops', falcon: 'd', prom: 'd', otel: 'd', unit: '1', help: '', source: '', labels: [{ key: 'queue' }], json: { section: 'queues', field: 'drops' } });
    expect(labelledSections(of([
      { def: depth, value: 3, labels: { queue: 'tx0' } },
      { def: drops, value: 1, labels: { queue: 'tx0' } },
      { def: depth, value: 5, labels: { queue: 'rx0' } },
    ]))).toEqual({ queues: { tx0: { queue_depth: 3, drops: 1 }, rx0: { queue_depth: 5 } } });
  });

  it('several labels: rows of the labels and values, sorted by the declared order (listed values first)', () => {
    const order = [{ key: 'b' }, { key: 'a', values: ['z', 'y'] }];
    const n = namespaceCounter({ key: 'n', falcon: 'n', prom: 'n', otel: 'n', unit: '1', help: '', source: '', labels: [{ key: 'a' }, { key: 'b' }], json: { section: 'rows', field: 'count', order } });
    const doc = labelledSections(of([
      { def: n, value: 1, labels: { a: 'y', b: '2' } },
      { def: n, value: 2, labels: { a: 'z', b: '2' } },
      { def: n, value: 3, labels: { a: 'x', b: '1' } },
    ]));
    expect(doc).toEqual({ rows: [{ a: 'x', b: '1', count: 3 }, { a: 'z', b: '2', count: 2 }, { a: 'y', b: '2', count: 1 }] });
    expect(Object.keys((doc.rows as object[])[0])).toEqual(['a', 'b', 'count']); // labels in declared order, then values
  });

  it('samples without labels, or whose definition has no place, are not put in a section', () => {
    const plain = namespaceGauge({ key: 'p', falcon: 'p', prom: 'p', otel: 'p', unit: '1', help: '', source: '' });
    expect(labelledSections(of([{ def: plain, value: 1 }]))).toEqual({});
  });

  it('every metric of the catalog that declares labels has a place in the document, and one section holds one set of labels', () => {
    const labelled = catalog().filter((d) => d.labels !== undefined);
    expect(labelled.length).toBeGreaterThan(0);
    expect(labelled.filter((d) => d.json === undefined).map((d) => d.key)).toEqual([]);
    expect(catalog().filter((d) => d.labels === undefined && d.json !== undefined).map((d) => d.key)).toEqual([]);
    const keysBySection = new Map<string, string>();
    for (const d of labelled) {
      const keys = d.labels!.map((l) => l.key).join(',');
      expect(keysBySection.get(d.json!.section) ?? keys).toBe(keys);
      keysBySection.set(d.json!.section, keys);
    }
  });
});
