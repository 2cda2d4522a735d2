// End to end on the real kernel: a test "node" namespace routes between two "pod" namespaces and
// an "outside" one (test/helpers/flow-node.ts), with known UDP and TCP traffic; one
// `sockpulse --once --format json` with the flows collector and the ClickHouse sink on (legacy
// schema, create_table, a user with a password) against a real clickhouse-server 18.16. The
// table must then hold exactly the bytes and packets of the JSON output's `flows` rows, per pod,
// direction, class and protocol, and the header arithmetic says what those are.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BIN } from '../helpers/agent-run';
import { describeRoot } from '../helpers/env';
import { FlowNode } from '../helpers/flow-node';
import { ClickHouseServer, PASSWORD, USER, clickhouseServer } from '../helpers/clickhouse-server';

const P1 = '10.200.1.2';
const P2 = '10.200.2.2';
const EXT = '10.99.0.2';
const IP = 20;
const UDP = 8;

type FlowRow = { direction: string; class: string; proto: string; bytes: number; packets: number };

const gate = clickhouseServer();
describeRoot('the agent\'s flows, delivered by the ClickHouse sink, end to end', () => {
  const node = new FlowNode(`spc${process.pid}`);
  let dir: string;
  let server: ClickHouseServer;

  beforeAll(async () => {
    if (!gate.present) return;
    server = await ClickHouseServer.start();
    await node.build({ p1: P1, p2: P2, ext: EXT });
    node.nft([]);
    const [p1, p2, ext] = await Promise.all([node.peer('p1'), node.peer('p2'), node.peer('ext')]);
    await Promise.all([p2.cmd({ op: 'listen', tcp: 8080, udp: 9090 }), ext.cmd({ op: 'listen', tcp: 8080, udp: 9090 })]);
    await p1.cmd({ op: 'udp', name: 'u', host: P2, port: 9090, count: 6, size: 400 });
    await p2.cmd({ op: 'wait', udp: 6 });
    await p2.cmd({ op: 'udpReply', count: 4, size: 30 });
    await p1.cmd({ op: 'connect', name: 'x', host: EXT, port: 8080 });
    await p1.cmd({ op: 'send', name: 'x', bytes: 5000 });
    await ext.cmd({ op: 'wait', tcp: 5000 });
    await ext.cmd({ op: 'send', bytes: 800 });
    await Promise.all([p1.cmd({ op: 'wait', udp: 4 }), p1.cmd({ op: 'wait', tcp: 800 })]);
    await new Promise((r) => setTimeout(r, 600)); // delayed ACKs have gone out
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-ch-flows-'));
    for (const [name, short] of [['node', 'node'], ['pod-1', 'p1'], ['pod-2', 'p2']]) {
      fs.writeFileSync(path.join(dir, name), '');
      execFileSync('mount', ['--bind', `/run/netns/${node.nsName(short)}`, path.join(dir, name)]);
    }
  }, 90_000);

  afterAll(async () => {
    if (dir) {
      for (const name of ['node', 'pod-1', 'pod-2']) spawnSync('umount', [path.join(dir, name)]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await node.destroy();
    await server?.stop();
  });

  gate.it('the table holds the bytes and packets of the JSON flows rows, per pod, direction, class and protocol', async () => {
    const conf = path.join(dir, 'conf.json');
    fs.writeFileSync(conf, JSON.stringify({
      collectors: { flows: { enabled: true, first_read: 'count', zone: 'zone-a', zone_prefixes: { 'zone-a': ['10.200.0.0/16'], 'zone-b': ['10.99.0.0/16'] } } },
      sinks: { clickhouse: { enabled: true, url: server.url, user: USER, schema: 'legacy', create_table: true, environment: 'e2e' } },
    }));
    const r = spawnSync(process.execPath, [BIN, '--once', '--format', 'json', '--discovery', 'netns', '-c', conf], {
      encoding: 'utf8', timeout: 60_000,
      env: { PATH: process.env.PATH, SOCKPULSE_NETNS_ROOT: dir, SOCKPULSE_LOG_LEVEL: 'warn', SOCKPULSE_CLICKHOUSE_PASSWORD: PASSWORD },
    });
    // Warnings: only the host namespace's accounting, when it is off on this machine (flows.test.ts).
    const warnings = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { code?: string });
    expect(warnings.filter((w) => w.code !== 'EFLOWSACCT')).toEqual([]);
    expect(r.status).toBe(warnings.length > 0 ? 1 : 0); // --once: 1 when the cycle had errors (that one)
    const doc = JSON.parse(r.stdout) as { targets: { labels: Record<string, string>; flows?: FlowRow[] }[] };
    const json = doc.targets.flatMap((t) => (t.flows ?? []).filter((f) => f.bytes > 0 || f.packets > 0).map((f) => ({ pod: t.labels.netns_name, ...f })));
    const key = (x: { pod: string; direction: string; class: string; proto: string }) => `${x.pod} ${x.direction} ${x.class} ${x.proto}`;
    const sorted = <T extends { pod: string; direction: string; class: string; proto: string }>(a: T[]) => [...a].sort((x, y) => key(x).localeCompare(key(y)));

    const table = (await server.rows(`SELECT localPod AS pod, toString(direction) AS direction, connectionClass AS class, proto, sum(bytes) AS bytes, sum(packets) AS packets
      FROM default.network_flows_0 WHERE environment = 'e2e' GROUP BY pod, direction, class, proto`)).map((x) => ({ ...x, bytes: Number(x.bytes), packets: Number(x.packets) }));
    expect(sorted(table as typeof json)).toEqual(sorted(json));

    // …and those are the traffic's numbers: UDP header arithmetic; TCP against the JSON (exact per flow in flows.test.ts).
    const udp = sorted(json.filter((f) => f.proto === 'udp'));
    expect(udp).toEqual(sorted([
      { pod: 'pod-1', direction: 'out', class: 'same_node', proto: 'udp', bytes: 6 * (IP + UDP + 400), packets: 6 },
      { pod: 'pod-1', direction: 'in', class: 'same_node', proto: 'udp', bytes: 4 * (IP + UDP + 30), packets: 4 },
      { pod: 'pod-2', direction: 'out', class: 'same_node', proto: 'udp', bytes: 4 * (IP + UDP + 30), packets: 4 },
      { pod: 'pod-2', direction: 'in', class: 'same_node', proto: 'udp', bytes: 6 * (IP + UDP + 400), packets: 6 },
    ]));
    const tcpOut = json.find((f) => f.pod === 'pod-1' && f.proto === 'tcp' && f.direction === 'out')!;
    expect(tcpOut).toMatchObject({ class: 'cross_zone' });
    expect(tcpOut.bytes).toBeGreaterThanOrEqual(5000 + 40 * tcpOut.packets);

    // One row per connection and direction, with the pod's addresses and the peer's port.
    const rows = await server.rows(`SELECT localPod, IPv4NumToString(localIPv4) AS l, IPv4NumToString(remoteIPv4) AS r, remotePort, remotePod, remoteAvailabilityZone, toString(direction) AS d
      FROM default.network_flows_0 WHERE environment = 'e2e' AND proto = 'tcp' ORDER BY d`);
    expect(rows).toEqual([
      { localPod: 'pod-1', l: P1, r: EXT, remotePort: 8080, remotePod: '', remoteAvailabilityZone: 'zone-b', d: 'in' },
      { localPod: 'pod-1', l: P1, r: EXT, remotePort: 8080, remotePod: '', remoteAvailabilityZone: 'zone-b', d: 'out' },
    ]);
    expect(r.stdout).not.toContain(PASSWORD);
  }, 90_000);
});
