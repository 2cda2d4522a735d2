// A sample's own labels (the interface of an interface counter) reach every backend beside its
// target's labels, on a real batch of the fixture proc tree, so one namespace's interfaces stay
// distinct series everywhere.
import { fixturePipeline } from '../helpers/pipeline';
import { ALL_METRICS } from '../helpers/metrics';
import { Batch } from '../../src/core/model';
import { batchPoints } from '../../src/deliver/points';
import { encodePoints } from '../../src/deliver/falcon/items';
import { counterLine, pointLabels, metricName } from '../../src/deliver/statsd/lines';
import { buildExposition } from '../../src/deliver/prometheus/registry';
import { batchDocument } from '../../src/deliver/stdout/json-doc';

let batch: Batch;
beforeAll(async () => {
  batch = (await fixturePipeline().runCycle(new Date(1_700_000_059_000))).batch;
});

const rxOfContainer = () => batchPoints(batch).filter((p) => p.def.key === 'if_rx_bytes' && p.target?.pid === 300);

it('Open-Falcon: the interface is a tag after the target\'s, never dropped to fit', () => {
  const { items } = encodePoints(rxOfContainer(), { prefix: 'sockpulse', endpoint: '{host}', hostname: 'h', step: 60, timestamp: 1, copyLabels: [], catalog: ALL_METRICS });
  expect(items).toEqual([expect.objectContaining({ metric: 'sockpulse.if.rx_bytes', counterType: 'COUNTER', value: 381, tags: 'scope=container,container_id=4e3eb141f15f,interface=eth0' })]);
});

it('StatsD: the interface is a tag after the target\'s', () => {
  const [p] = rxOfContainer();
  expect(counterLine(metricName('sockpulse', p.def.falcon), pointLabels(p), 7, 'dogstatsd')).toBe('sockpulse.if.rx_bytes:7|c|#scope:container,container_id:4e3eb141f15f,interface:eth0');
});

it('Prometheus: one series per interface, labelled interface', async () => {
  const text = await buildExposition(batchPoints(batch), new Map(), ALL_METRICS).registry.metrics();
  const rx = text.split('\n').filter((l) => l.startsWith('sockpulse_interface_receive_bytes_total{'));
  expect(rx.filter((l) => l.includes('netns="1"') || l.includes('scope="host"'))).toHaveLength(3); // host: ifb0, ifb1, eth0
  expect(rx.some((l) => l.includes('interface="lo"'))).toBe(false);
  expect(rx).toContainEqual(expect.stringMatching(/^sockpulse_interface_receive_bytes_total\{scope="container",.*netns="4026532300",interface="eth0"\} 381$/));
});

it('JSON: interfaces by name, apart from the namespace\'s counters', () => {
  const doc = batchDocument(batch, ALL_METRICS) as { targets: { pid: number; counters: Record<string, number>; interfaces?: Record<string, Record<string, number>> }[] };
  const t = doc.targets.find((x) => x.pid === 300)!;
  expect(t.interfaces).toEqual({ eth0: { if_rx_bytes: 381, if_rx_packets: 5, if_rx_errors: 0, if_rx_dropped: 0, if_tx_bytes: 603, if_tx_packets: 8, if_tx_errors: 0, if_tx_dropped: 0 } });
  expect(Object.keys(t.counters).some((k) => k.startsWith('if_'))).toBe(false);
  expect(doc.targets.find((x) => x.pid === 500)!.counters).not.toHaveProperty('Ip6_InOctets'); // no snmp6 there: absent, not 0
});
