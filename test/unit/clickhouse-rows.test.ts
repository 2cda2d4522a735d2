// A flow row's local placement: the sink's own keys when set, otherwise the zone and region the
// flows collector was told (one place to say them).
import { intervalRows } from '../../src/deliver/clickhouse/rows';
import { RowContext } from '../../src/deliver/clickhouse/settings';
import { FlowInterval } from '../../src/core/flows';
import { Target } from '../../src/core/model';

const pod: Target = { netns: 4026532001, pid: 100, pidStart: 1, scope: 'container', containers: [], labels: { namespace: 'shop', pod: 'web-0' } };
const ctx: RowContext = { environment: 'prod', cloud: 'aws', region: '', cluster: 'c1', cell: '', availabilityZone: '', node: 'node-1', instanceId: 'i-1', appLabel: 'app' };
const interval = (node?: FlowInterval['node']): FlowInterval => ({
  start: 1_796_000_000_000,
  end: 1_796_000_060_000,
  ...(node ? { node } : {}),
  records: [{
    observer: 4026531840, family: 4, proto: 'tcp', zone: 0, initiator: 'local',
    local: { target: pod, ip: '10.0.0.5', port: 40000 },
    remote: { ip: '10.1.0.9', port: 443, kind: 'external', zone: 'eu-west-1b', region: 'eu-west-1' },
    class: 'cross_zone', flags: {}, out: { bytes: 1500, packets: 3 }, in: { bytes: 0, packets: 0 },
  }],
});

describe('ClickHouse rows: the node\'s own zone and region', () => {
  it('come from the flows collector when the sink leaves them empty', () => {
    const [row] = intervalRows(interval({ zone: 'eu-west-1a', region: 'eu-west-1' }), ctx, 'modern');
    expect(row).toMatchObject({ localAvailabilityZone: 'eu-west-1a', localRegion: 'eu-west-1', remoteAvailabilityZone: 'eu-west-1b', direction: 'out', bytes: 1500, packets: 3 });
  });

  it('are the sink\'s own when it sets them', () => {
    const [row] = intervalRows(interval({ zone: 'eu-west-1a', region: 'eu-west-1' }), { ...ctx, availabilityZone: 'az-override', region: 'r-override' }, 'modern');
    expect(row).toMatchObject({ localAvailabilityZone: 'az-override', localRegion: 'r-override' });
  });

  it('are empty when neither says them', () => {
    const [row] = intervalRows(interval(), ctx, 'modern');
    expect(row).toMatchObject({ localAvailabilityZone: '', localRegion: '' });
  });
});
