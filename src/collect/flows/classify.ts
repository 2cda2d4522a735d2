// The remote side of a flow → what it is (a pod on this node, a node, the cluster, outside) and
// its connection class, from configured prefixes. Decided once per remote address and cached
// (a busy node's 100k entries talk to far fewer addresses), so the per-entry cost is one lookup.
import { ConnectionClass } from '../../core/flows';
import { PrefixMap, addrValue, parsePrefix, inPrefix, Prefix } from './addr';

export interface ClassifyConfig {
  /** This node's zone and region (compared with the remote's). */
  zone?: string;
  region?: string;
  /** Pod and service CIDRs of the cluster. */
  clusterCidrs: readonly string[];
  /** Addresses (or prefixes) of the cluster's nodes. */
  nodeAddresses: readonly string[];
  /** zone name → prefixes; region name → prefixes; cloud service name → prefixes; flag → prefixes. */
  zonePrefixes: Record<string, readonly string[]>;
  regionPrefixes: Record<string, readonly string[]>;
  cloudServicePrefixes: Record<string, readonly string[]>;
  flagPrefixes: Record<string, readonly string[]>;
}

export interface RemoteInfo {
  kind: 'node' | 'cluster' | 'external';
  class: ConnectionClass;
  zone?: string;
  region?: string;
  cloudService?: string;
  flags: Record<string, boolean>;
}

/** RFC 1918, shared address space, link-local, IPv6 ULA and link-local: `private`, not `internet`. */
const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'].map(parsePrefix);
const LOOPBACK = ['127.0.0.0/8', '::1/128'].map(parsePrefix);

const CACHE_MAX = 65536;

export class Classifier {
  private readonly cluster: Prefix[];
  private readonly nodes: Prefix[];
  private readonly zones: PrefixMap;
  private readonly regions: PrefixMap;
  private readonly services: PrefixMap;
  private readonly flagMap: PrefixMap;
  private cache = new Map<string, RemoteInfo>();

  /** Throws naming the key (collectors.flows.<key>) of a prefix it cannot read. */
  constructor(private readonly cfg: ClassifyConfig) {
    const list = (key: string, l: readonly string[]): Prefix[] =>
      l.map((t) => {
        try {
          return parsePrefix(t);
        } catch (err) {
          throw new Error(`collectors.flows.${key}: ${(err as Error).message}`);
        }
      });
    this.cluster = list('cluster_cidrs', cfg.clusterCidrs);
    this.nodes = list('node_addresses', cfg.nodeAddresses);
    this.zones = new PrefixMap(cfg.zonePrefixes, 'collectors.flows.zone_prefixes');
    this.regions = new PrefixMap(cfg.regionPrefixes, 'collectors.flows.region_prefixes');
    this.services = new PrefixMap(cfg.cloudServicePrefixes, 'collectors.flows.cloud_service_prefixes');
    this.flagMap = new PrefixMap(cfg.flagPrefixes, 'collectors.flows.flag_prefixes');
  }

  /**
   * A remote address that is not a pod on this node (those are `same_node`, decided by the
   * caller). Order: loopback → same_node; zone known → same_zone / cross_zone / cross_region (a
   * zone's region is the region map's answer for the address, else this node's region); region
   * known → same_region / cross_region; node address or cluster CIDR → cluster; cloud service →
   * cloud_service; private ranges → private; else internet.
   */
  remote(ip: string): RemoteInfo {
    let r = this.cache.get(ip);
    if (r === undefined) {
      if (this.cache.size >= CACHE_MAX) this.cache = new Map();
      r = this.decide(ip);
      // A copy: `ip` may be a slice of the whole table text, which the cache would keep alive.
      this.cache.set(Buffer.from(ip, 'latin1').toString('latin1'), r);
    }
    return r;
  }

  private decide(ip: string): RemoteInfo {
    const a = addrValue(ip);
    if (!a) return { kind: 'external', class: 'internet', flags: {} };
    const flags: Record<string, boolean> = {};
    for (const f of this.flagMap.all(a)) flags[f] = true;
    const kind = this.nodes.some((p) => inPrefix(p, a)) ? 'node' : this.cluster.some((p) => inPrefix(p, a)) ? 'cluster' : 'external';
    const zone = this.zones.lookup(a);
    const region = this.regions.lookup(a) ?? (zone !== undefined ? this.cfg.region : undefined);
    const cloudService = this.services.lookup(a);
    const info = (cls: ConnectionClass): RemoteInfo => ({
      kind, class: cls, flags,
      ...(zone !== undefined ? { zone } : {}), ...(region !== undefined ? { region } : {}), ...(cloudService !== undefined ? { cloudService } : {}),
    });
    if (LOOPBACK.some((p) => inPrefix(p, a))) return info('same_node');
    const crossRegion = region !== undefined && this.cfg.region !== undefined && region !== this.cfg.region;
    if (zone !== undefined && this.cfg.zone !== undefined) return info(crossRegion ? 'cross_region' : zone === this.cfg.zone ? 'same_zone' : 'cross_zone');
    if (region !== undefined && this.cfg.region !== undefined) return info(crossRegion ? 'cross_region' : 'same_region');
    if (kind !== 'external') return info('cluster');
    if (cloudService !== undefined) return info('cloud_service');
    if (PRIVATE.some((p) => inPrefix(p, a))) return info('private');
    return info('internet');
  }
}
