// The flows plugin: its configuration section (collectors.flows.*), metrics and factory.
import { CollectorPlugin } from '../collector';
import { FlowsCollector, FlowsConfig } from './collector';
import { Classifier } from './classify';
import { flowBytes, flowPackets } from './totals';

const list = (doc: string): { doc: string; format: string; default: string[] } => ({ doc, format: 'string-list', default: [] });
const map = (doc: string): { doc: string; format: string; default: Record<string, string[]> } => ({ doc, format: 'prefix-map', default: {} });

export const flows: CollectorPlugin<FlowsConfig> = {
  name: 'flows',
  doc: 'bytes and packets per target by direction, connection class and protocol, from the conntrack table with accounting (nf_conntrack); needs root or CAP_DAC_READ_SEARCH and net.netfilter.nf_conntrack_acct=1',
  defaultEnabled: false,
  metrics: [flowBytes, flowPackets],
  config: {
    schema: {
      first_read: {
        doc: 'Connections already in a table when the agent first reads it: baseline (their bytes so far are not counted; later growth is) or count (counted in the first interval, e.g. for --once).',
        format: ['baseline', 'count'],
        default: 'baseline',
        env: 'SOCKPULSE_FLOWS_FIRST_READ',
      },
      zone: { doc: "This node's zone (compared with zone_prefixes).", format: String, default: '', env: 'SOCKPULSE_FLOWS_ZONE' },
      region: { doc: "This node's region (compared with region_prefixes).", format: String, default: '', env: 'SOCKPULSE_FLOWS_REGION' },
      cluster_cidrs: list('Pod and service CIDRs of the cluster: a remote address there is class cluster when no zone or region prefix says more.'),
      node_addresses: list("Addresses or prefixes of the cluster's nodes (remote kind node)."),
      zone_prefixes: map('Zone name → address prefixes (e.g. {"eu-west-1a": ["10.1.0.0/16"]}): same_zone or cross_zone.'),
      region_prefixes: map('Region name → address prefixes: same_region or cross_region.'),
      cloud_service_prefixes: map('Cloud service name → address prefixes (e.g. {"s3": ["52.218.0.0/17"]}): class cloud_service and the record\'s remote cloud service.'),
      flag_prefixes: map('Flag name → address prefixes: the flow record\'s flags (not a label of the counters).'),
    },
    resolve(raw): FlowsConfig {
      const cfg: FlowsConfig = {
        firstRead: raw.first_read as 'baseline' | 'count',
        ...(raw.zone ? { zone: String(raw.zone) } : {}),
        ...(raw.region ? { region: String(raw.region) } : {}),
        clusterCidrs: raw.cluster_cidrs as string[],
        nodeAddresses: raw.node_addresses as string[],
        zonePrefixes: raw.zone_prefixes as Record<string, string[]>,
        regionPrefixes: raw.region_prefixes as Record<string, string[]>,
        cloudServicePrefixes: raw.cloud_service_prefixes as Record<string, string[]>,
        flagPrefixes: raw.flag_prefixes as Record<string, string[]>,
      };
      new Classifier(cfg); // every prefix is checked now, naming its key
      return cfg;
    },
  },
  create: (cfg) => new FlowsCollector(cfg),
};
