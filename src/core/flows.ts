// A traffic flow as one interval saw it: what the flows collector (collect/flows/) produces per
// conntrack entry and local side, and what a row-oriented sink (ClickHouse's network_flows_0)
// takes. Only this type is shared: the collector imports it, sinks import it; neither imports
// the other.
import type { Target } from './target';

/** How far the remote side is, by configured prefixes (collect/flows/classify.ts). */
export const CONNECTION_CLASSES = [
  'same_node', 'same_zone', 'cross_zone', 'same_region', 'cross_region', 'cluster', 'cloud_service', 'private', 'internet',
] as const;
export type ConnectionClass = (typeof CONNECTION_CLASSES)[number];

/** Bytes and packets of one direction in one interval (a delta, not a total). */
export interface FlowCount {
  bytes: number;
  packets: number;
}

export interface FlowRecord {
  /** netns inode of the conntrack table the entry was read from (the observation point). */
  observer: number;
  family: 4 | 6;
  /** l4 protocol as the kernel names it: tcp, udp, icmp, icmpv6, sctp, … */
  proto: string;
  /** conntrack zone. */
  zone: number;
  /** Who opened the connection: the local side (it is the original-direction source) or the remote. */
  initiator: 'local' | 'remote';
  local: { target: Target; ip: string; port: number | null };
  remote: {
    ip: string;
    port: number | null;
    /** pod: a target on this node; node: a configured node address; cluster: a cluster CIDR. */
    kind: 'pod' | 'node' | 'cluster' | 'external';
    target?: Target;
    zone?: string;
    region?: string;
    cloudService?: string;
  };
  class: ConnectionClass;
  /** User prefix tags that hold the remote address (collectors.flows.flag_prefixes). */
  flags: Record<string, boolean>;
  /** Bytes and packets the local side sent this interval (direction `out`). */
  out: FlowCount;
  /** Bytes and packets the local side received this interval (direction `in`). */
  in: FlowCount;
}

/** One read of the conntrack tables: the flows that moved since the previous one. */
export interface FlowInterval {
  /** Unix milliseconds of the previous read (the interval's start) and of this one. */
  start: number;
  end: number;
  records: FlowRecord[];
  /** This node's own zone and region as the collector was told them (collectors.flows.zone/region). */
  node?: { zone?: string; region?: string };
}
