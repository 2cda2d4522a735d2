// Flow intervals as the flows collector makes them (core/flows.ts), with known numbers, for the
// ClickHouse sink's tests that do not need the kernel (the kernel's own are in flows.test.ts and
// clickhouse-flows.test.ts), and a batch that carries one.
import { FlowInterval, FlowRecord } from '../../src/core/flows';
import { Batch, Target } from '../../src/core/model';

export const POD1: Target = {
  netns: 4026532001, pid: 101, pidStart: 1, scope: 'container', ips: ['10.200.1.2'],
  labels: { pod: 'web-1', namespace: 'shop' },
  containers: [{ id: 'sb1', labels: { app: 'web', 'io.kubernetes.pod.name': 'web-1' }, sandbox: true }],
};
export const POD2: Target = {
  netns: 4026532002, pid: 102, pidStart: 1, scope: 'container', ips: ['10.200.2.2'],
  labels: { pod: 'db-0', namespace: 'data', app: 'postgres' },
  containers: [],
};

const base = { observer: 4026531840, family: 4 as const, zone: 0, flags: {} };

/** pod-1 → pod-2 TCP, and the same connection from pod-2; pod-1 → another zone; pod-1 → S3; an IPv6 ping to pod-2. */
export function records(scale = 1): FlowRecord[] {
  const n = (x: number): number => x * scale;
  return [
    { ...base, proto: 'tcp', initiator: 'local', class: 'same_node',
      local: { target: POD1, ip: '10.200.1.2', port: 40000 }, remote: { ip: '10.200.2.2', port: 5432, kind: 'pod', target: POD2 },
      out: { bytes: n(3532), packets: n(12) }, in: { bytes: n(1480), packets: n(9) } },
    { ...base, proto: 'tcp', initiator: 'remote', class: 'same_node',
      local: { target: POD2, ip: '10.200.2.2', port: 5432 }, remote: { ip: '10.200.1.2', port: 40000, kind: 'pod', target: POD1 },
      out: { bytes: n(1480), packets: n(9) }, in: { bytes: n(3532), packets: n(12) } },
    { ...base, proto: 'udp', initiator: 'local', class: 'cross_zone', flags: { outside: true },
      local: { target: POD1, ip: '10.200.1.2', port: 53000 }, remote: { ip: '10.99.0.2', port: 9090, kind: 'external', zone: 'zone-b' },
      out: { bytes: n(312), packets: n(4) }, in: { bytes: 0, packets: 0 } },
    { ...base, proto: 'tcp', initiator: 'local', class: 'cloud_service',
      local: { target: POD1, ip: '10.200.1.2', port: 41000 }, remote: { ip: '52.218.1.9', port: 443, kind: 'external', cloudService: 's3', region: 'eu-west-1' },
      out: { bytes: n(1_000_000), packets: n(700) }, in: { bytes: n(40_000), packets: n(350) } },
    { ...base, family: 6, proto: 'icmpv6', initiator: 'remote', class: 'private',
      local: { target: POD2, ip: 'fd00::2', port: null }, remote: { ip: 'fd00::9', port: null, kind: 'external' },
      out: { bytes: n(208), packets: n(2) }, in: { bytes: n(208), packets: n(2) } },
  ];
}

/** Rows the records above make: one per direction that moved. */
export const ROWS_PER_INTERVAL = 9;

export function interval(startMs: number, seconds: number, recs: FlowRecord[] = records()): FlowInterval {
  return { start: startMs, end: startMs + seconds * 1000, records: recs };
}

export function flowBatch(flows: FlowInterval | undefined): Batch {
  return {
    timestamp: Math.floor((flows?.end ?? 0) / 1000), step: 60, host: 'node-a', kernel: '', results: [], errors: [],
    cycle: { discover_ms: 0, collect_ms: 0, targets: 0, skipped: 0, errors: 0, discovery: 'test', collectors: {} },
    self: { cycles: 1, ticks_skipped: 0, deliver_ms: null, errors: { discover: 0, collect: 0, deliver: 0 }, collector_errors: {}, collector_series_dropped: {}, sinks: {} },
    ...(flows ? { flows } : {}),
  };
}
