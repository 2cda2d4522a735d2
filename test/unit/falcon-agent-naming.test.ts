// sinks.falcon.naming: agent — a container's numbers that the falcon-plus agent also reports go
// out under the agent's exact names, types and tags (modules/agent/funcs: sockstat.go → ss.*,
// netstat.go → TcpExt.<Field> COUNTER, snmp.go → snmp.Udp.<Field> COUNTER, ifstat.go →
// net.if.<in|out>.<bytes|packets|errors|dropped> COUNTER with iface=<name>), on a real batch.
import { fixturePipeline } from '../helpers/pipeline';
import { ALL_METRICS } from '../helpers/metrics';
import { Batch } from '../../src/core/model';
import { batchPoints } from '../../src/deliver/points';
import { FalconItem, ItemContext, encodePoints } from '../../src/deliver/falcon/items';
import { loadConfig } from '../../src/config/load';
import { FIXTURE_ROOT } from '../helpers/pipeline';

let batch: Batch;
beforeAll(async () => {
  batch = (await fixturePipeline().runCycle(new Date(1_700_000_059_000))).batch;
  // pid 300 is a Docker container found through /proc: give it the name the Docker API would.
  const r = batch.results.find((x) => x.target.pid === 300)!;
  r.target = { ...r.target, labels: { ...r.target.labels, container: 'web-1' } };
});

const ctx: ItemContext = { prefix: 'sockpulse', endpoint: '{container}', hostname: 'node-1', step: 60, timestamp: 1_700_000_040, copyLabels: [], catalog: ALL_METRICS, naming: 'agent' };
const items = (c: Partial<ItemContext> = {}): FalconItem[] => {
  const out = encodePoints(batchPoints(batch, false), { ...ctx, ...c });
  expect(out.invalid).toEqual({}); // every item is one the transfer accepts
  return out.items;
};
const of = (list: FalconItem[], endpoint: string, metric: string, tags = '') => list.find((i) => i.endpoint === endpoint && i.metric === metric && i.tags === tags);

it('sends a container\'s numbers under the agent\'s names, types and tags, on the container\'s endpoint', () => {
  const list = items();
  expect(of(list, 'web-1', 'ss.estab')).toMatchObject({ counterType: 'GAUGE', value: 11 });
  expect(of(list, 'web-1', 'ss.timewait')).toMatchObject({ counterType: 'GAUGE', value: 3 });
  expect(of(list, 'web-1', 'TcpExt.ListenOverflows')).toMatchObject({ counterType: 'COUNTER', value: 0 });
  expect(of(list, 'web-1', 'TcpExt.TCPTimeouts')).toMatchObject({ counterType: 'COUNTER' });
  expect(of(list, 'web-1', 'snmp.Udp.InDatagrams')).toMatchObject({ counterType: 'COUNTER', value: 0 });
  expect(of(list, 'web-1', 'snmp.Udp.RcvbufErrors')).toMatchObject({ counterType: 'COUNTER' });
  expect(of(list, 'web-1', 'net.if.in.bytes', 'iface=eth0')).toMatchObject({ counterType: 'COUNTER', value: 381 });
  expect(of(list, 'web-1', 'net.if.out.packets', 'iface=eth0')).toMatchObject({ counterType: 'COUNTER', value: 8 });
  expect(of(list, 'web-1', 'net.if.in.dropped', 'iface=eth0')).toBeDefined();
  expect(of(list, 'web-1', 'net.if.out.errors', 'iface=eth0')).toBeDefined();
  // What the agent has no name for keeps sockpulse's name and the target's tags.
  expect(list.find((i) => i.endpoint === 'web-1' && i.metric === 'sockpulse.inuse')).toMatchObject({ tags: 'scope=container,container=web-1,container_id=4e3eb141f15f', value: 15 });
  expect(list.find((i) => i.endpoint === 'web-1' && i.metric === 'sockpulse.tcp.active_opens')).toBeDefined();
});

it('keeps sockpulse names for the host and for namespaces whose endpoint falls back to the host name', () => {
  const list = items();
  expect(list.filter((i) => i.endpoint === 'node-1' && /^(ss|TcpExt|snmp|net)\./.test(i.metric))).toEqual([]);
  expect(list.filter((i) => i.endpoint === 'node-1' && i.metric === 'sockpulse.estab')).toHaveLength(4); // host, pod 400, netns 500, 600
});

it('is off by default: the same batch under sockpulse names only', () => {
  expect(items({ naming: undefined }).filter((i) => !i.metric.startsWith('sockpulse.'))).toEqual([]);
});

it('needs an endpoint that names the container, or fails at load naming the key', () => {
  const env = { SOCKPULSE_DISCOVERY: 'procfs', SOCKPULSE_PROC_ROOT: FIXTURE_ROOT, SOCKPULSE_FALCON_ENABLED: 'true', SOCKPULSE_FALCON_NAMING: 'agent' };
  expect(() => loadConfig({ env })).toThrow(/^sinks\.falcon\.naming: agent needs sinks\.falcon\.endpoint to name the container/);
  expect(loadConfig({ env: { ...env, SOCKPULSE_FALCON_ENDPOINT: '{pod}' } }).resolved.sinks.find((s) => s.plugin.name === 'falcon')!.cfg).toMatchObject({ naming: 'agent' });
});
