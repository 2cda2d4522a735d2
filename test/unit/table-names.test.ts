// The stdout table's NAME column: pods as namespace/pod, containers by name, the host target by its
// host-network members' names — and no name, however hostile, can break a line of the table.
import { Batch, Target } from '../../src/core/model';
import { renderTable } from '../../src/deliver/stdout/table';
import { ALL_METRICS } from '../helpers/metrics';

const ref = (id: string, name: string) => ({ id, name, labels: {} });
const target = (t: Partial<Target>): Target => ({ netns: 4026531840, pid: 1, pidStart: 1, scope: 'container', containers: [], labels: {}, ...t });
const nameColumn = (targets: Target[]): string[] => {
  const batch = {
    timestamp: 1_700_000_000,
    step: 60,
    host: 'node-a',
    kernel: '6.1.0',
    cycle: { discover_ms: 1, collect_ms: 1, targets: targets.length, skipped: 0, errors: 0, discovery: 'cri', collectors: {} },
    results: targets.map((t) => ({ target: t, samples: [] })),
    errors: [],
    self: {},
  } as unknown as Batch;
  const lines = renderTable(batch, ALL_METRICS).split('\n');
  expect(lines).toHaveLength(targets.length + 4); // head, one per target, two comment lines, ''
  const at = lines[0].indexOf('NAME');
  return lines.slice(1, 1 + targets.length).map((l) => l.slice(at));
};

describe('stdout table names', () => {
  it('pod as namespace/pod, container by name, the host by its host-network members', () => {
    expect(
      nameColumn([
        target({ scope: 'host', containers: [ref('a'.repeat(64), 'node-exporter-abcde'), ref('b'.repeat(64), 'exporter')] }),
        target({ labels: { pod: 'web-0', namespace: 'shop', container: 'server' } }),
        target({ labels: { container: 'redis' } }),
        target({ containers: [ref('c'.repeat(64), '')] }),
        target({ scope: 'host' }),
      ]),
    ).toEqual(['(host) node-exporter-abcde,exporter', 'shop/web-0', 'redis', 'c'.repeat(12), '(host)']);
  });

  it('control characters in any name, the host\'s members included, become "?"', () => {
    expect(
      nameColumn([
        target({ scope: 'host', containers: [ref('a'.repeat(64), 'evil\n4026531840  1  host  99')] }),
        target({ labels: { pod: 'p\r\x1b[2J', namespace: 'ns' } }),
      ]),
    ).toEqual(['(host) evil?4026531840  1  host  99', 'ns/p??[2J']);
  });
});
