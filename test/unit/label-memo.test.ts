import { ContainerRef } from '../../src/core/model';
import { Built, LabelMemo } from '../../src/discover/label-memo';

const ref = (id: string): ContainerRef => ({ id, name: id, labels: {} });
const refs = (...xs: ContainerRef[]) => new Map(xs.map((r) => [r.id, r]));

describe('LabelMemo', () => {
  const a = ref('a');
  const b = ref('b');
  let builds = 0;
  const build = (...xs: ContainerRef[]) => (): Built => (builds++, { containers: xs, scope: 'container', labels: { container: xs.map((x) => x.id).join(',') } });
  beforeEach(() => (builds = 0));

  it('keeps what was built while a namespace holds the same ref objects', () => {
    const m = new LabelMemo();
    const first = m.get(1, refs(a, b), build(a, b));
    m.endCycle();
    expect(m.get(1, refs(b, a), build(a, b))).toBe(first);
    expect(builds).toBe(1);
  });

  it('builds again for another set of refs, or equal refs that are other objects', () => {
    const m = new LabelMemo();
    m.get(1, refs(a, b), build(a, b));
    m.endCycle();
    expect(m.get(1, refs(a), build(a)).labels.container).toBe('a');
    m.endCycle();
    expect(m.get(1, refs(ref('a')), build(a)).labels.container).toBe('a');
    expect(builds).toBe(3);
  });

  it('forgets a namespace not seen in a cycle, and never answers for another namespace', () => {
    const m = new LabelMemo();
    m.get(1, refs(a), build(a));
    m.endCycle();
    m.endCycle(); // namespace 1 absent from this cycle
    m.get(1, refs(a), build(a));
    m.get(2, refs(a), build(a));
    expect(builds).toBe(3);
  });
});
