// FlowInterval (core/flows.ts) → rows of network_flows_0 (table.ts), as JSONEachRow lines.
// One FlowRecord gives a row with direction `out` (what the local side sent) and one with `in`
// (what it received); a direction that moved nothing gives no row. The local side is always a
// target on this node: its node, cloud, region, zone… come from the sink's configuration; its
// namespace, pod and app from the target's labels. The remote side is a pod on this node (same
// node, so the same placement), or what the configured prefixes said (zone, region, cloud
// service; a node address or cluster CIDR is in this cluster). IPv6 flows keep their bytes but
// have no IPv4 column to show their addresses: 0.0.0.0 there (the table is IPv4-only by design).
import { label } from '../../core/labels';
import { FlowInterval, FlowRecord } from '../../core/flows';
import { Target } from '../../core/model';
import { RowContext } from './settings';
import { TableSchema } from './table';

export type Row = Record<string, string | number | Record<string, boolean>>;

/** Who opened the connection, as a flag beside the user's prefix flags. */
export const OPENED_BY_LOCAL = 'opened_by_local';

/** `YYYY-MM-DD` of a Unix time in seconds, UTC. */
const day = (s: number): string => new Date(s * 1000).toISOString().slice(0, 10);

/** Pod name: the CRI's pod, else the container's name (Docker), else the named netns. */
function podOf(t: Target): string {
  return label(t.labels, 'pod') ?? label(t.labels, 'container') ?? label(t.labels, 'netns_name') ?? '';
}

/** The app label: copied onto the target, else on any of its containers (a CRI sandbox carries the pod's labels). */
function appOf(t: Target, key: string): string {
  const own = label(t.labels, key);
  if (own !== undefined) return own;
  for (const c of t.containers) {
    const v = label(c.labels, key);
    if (v !== undefined) return v;
  }
  return '';
}

function ipv4(ip: string, schema: TableSchema): string | number {
  const v4 = ip.includes(':') ? '0.0.0.0' : ip;
  if (schema === 'modern') return v4;
  return v4.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** The interval's rows; `start`/`end` of the interval give date, intervalStartTime, intervalSeconds. */
export function intervalRows(iv: FlowInterval, ctx: RowContext, schema: TableSchema): Row[] {
  const start = Math.floor(iv.start / 1000);
  const common = { date: day(start), intervalStartTime: start, intervalSeconds: Math.min(65535, Math.max(0, Math.round((iv.end - iv.start) / 1000))), environment: ctx.environment };
  const rows: Row[] = [];
  // The sink's own keys win; empty, they take the flows collector's (one place to say the zone).
  const placed = { ...ctx, region: ctx.region || iv.node?.region || '', availabilityZone: ctx.availabilityZone || iv.node?.zone || '' };
  for (const r of iv.records) {
    const base = { ...common, ...recordColumns(r, placed, schema) };
    if (r.out.bytes > 0 || r.out.packets > 0) rows.push({ ...base, direction: 'out', bytes: r.out.bytes, packets: r.out.packets });
    if (r.in.bytes > 0 || r.in.packets > 0) rows.push({ ...base, direction: 'in', bytes: r.in.bytes, packets: r.in.packets });
  }
  return rows;
}

function recordColumns(r: FlowRecord, ctx: RowContext, schema: TableSchema): Row {
  const flags: Record<string, boolean> = { ...r.flags, [OPENED_BY_LOCAL]: r.initiator === 'local' };
  const sorted = Object.fromEntries(Object.keys(flags).sort().map((k) => [k, flags[k]]));
  const local = r.local.target;
  const peer = r.remote.target;
  const inCluster = peer !== undefined || r.remote.kind === 'node' || r.remote.kind === 'cluster';
  return {
    proto: r.proto,
    connectionClass: r.class,
    connectionFlags: schema === 'modern' ? sorted : JSON.stringify(sorted),
    localCloud: ctx.cloud,
    localRegion: ctx.region,
    localCluster: ctx.cluster,
    localCell: ctx.cell,
    localAvailabilityZone: ctx.availabilityZone,
    localNode: ctx.node,
    localInstanceID: ctx.instanceId,
    localNamespace: label(local.labels, 'namespace') ?? '',
    localPod: podOf(local),
    localIPv4: ipv4(r.local.ip, schema),
    localPort: r.local.port ?? 0,
    localApp: appOf(local, ctx.appLabel),
    remoteCloud: peer ? ctx.cloud : '',
    remoteRegion: peer ? ctx.region : r.remote.region ?? '',
    remoteCluster: inCluster ? ctx.cluster : '',
    remoteCell: peer ? ctx.cell : '',
    remoteAvailabilityZone: peer ? ctx.availabilityZone : r.remote.zone ?? '',
    remoteNode: peer ? ctx.node : '',
    remoteInstanceID: peer ? ctx.instanceId : '',
    remoteNamespace: peer ? label(peer.labels, 'namespace') ?? '' : '',
    remotePod: peer ? podOf(peer) : '',
    remoteIPv4: ipv4(r.remote.ip, schema),
    remotePort: r.remote.port ?? 0,
    remoteApp: peer ? appOf(peer, ctx.appLabel) : '',
    remoteCloudService: r.remote.cloudService ?? '',
  };
}

/** Rows as JSONEachRow text, `size` rows per chunk (one INSERT each). */
export function jsonEachRowChunks(rows: readonly Row[], size: number): { body: string; rows: number }[] {
  const out: { body: string; rows: number }[] = [];
  for (let i = 0; i < rows.length; i += size) {
    const chunk = rows.slice(i, i + size);
    out.push({ body: chunk.map((r) => `${JSON.stringify(r)}\n`).join(''), rows: chunk.length });
  }
  return out;
}
