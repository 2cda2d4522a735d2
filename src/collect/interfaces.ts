// dev → per-interface traffic counters of each namespace: bytes, packets, errors and drops, each
// way, labelled `interface`. The kernel keeps them per device, and a device is in exactly one
// namespace: a container's eth0 is its own, the host's veth peer is the host's (the same traffic
// seen from the other end: received there is transmitted here). They only grow while the device
// lives; a device recreated under the same name starts from 0 (a reset for delta-taking sinks).
//
// Cardinality: one series per interface per counter (8). `lo` is left out by default, and so are
// the host ends of containers' links (`veth*` of Docker and the bridge CNI, Calico's `cali*`,
// Cilium's `lxc*`): a host with many containers holds one per container, and each carries the same
// traffic as the container's own eth0, which is reported under the container. `max_interfaces`
// bounds a namespace's count (in the kernel's order) and says that it did.
import { MetricDef, namespaceCounter } from '../core/metrics';
import { nameFilter } from '../core/patterns';
import { Sample } from '../core/model';
import { CollectorPlugin } from './collector';
import { LimitError } from './fields';

type Way = 'rx' | 'tx';
/** sample key suffix → [kernel field, Prometheus/OTLP word, unit]. */
const FIELDS: [string, string, string, string][] = [
  ['bytes', 'bytes', 'bytes', 'By'],
  ['packets', 'packets', 'packets', '{packet}'],
  ['errors', 'errs', 'errors', '{packet}'],
  ['dropped', 'drop', 'drops', '{packet}'],
];

/** Each interface's series carry its name (OTLP: the semantic conventions' network.interface.name). */
const IFACE_LABELS = [{ key: 'interface', otel: 'network.interface.name', agentTag: 'iface' }] as const;

const DEFS: [MetricDef, Way, string][] = (['rx', 'tx'] as const).flatMap((way) =>
  FIELDS.map(([name, field, word, unit]): [MetricDef, Way, string] => {
    const dir = way === 'rx' ? 'receive' : 'transmit';
    const def = namespaceCounter({
      key: `if_${way}_${name}`,
      falcon: `if.${way}_${name}`,
      prom: `sockpulse_interface_${dir}_${word}_total`,
      otel: `sockpulse.interface.${dir}.${word}`,
      unit,
      help: `${way === 'rx' ? 'Received' : 'Transmitted'} ${name === 'dropped' ? 'packets dropped' : name} on one interface (label interface) since it was created`,
      source: `dev ${dir} ${field}`,
      agent: `net.if.${way === 'rx' ? 'in' : 'out'}.${name}`,
      labels: IFACE_LABELS,
      json: { section: 'interfaces' },
    });
    return [def, way, field];
  }),
);

/** Interface names whose selection is remembered (a host's veth names come and go). */
const MAX_VERDICTS = 4096;

export interface InterfacesConfig {
  selected: (name: string) => boolean;
  maxInterfaces: number;
}

interface Raw {
  include: string[];
  exclude: string[];
  max_interfaces: number;
}

export const interfaces: CollectorPlugin<InterfacesConfig> = {
  name: 'interfaces',
  doc: 'bytes, packets, errors and drops per network interface, each way (dev)',
  defaultEnabled: true,
  metrics: DEFS.map(([d]) => d),
  config: {
    schema: {
      include: {
        doc: 'Interfaces to report: anchored regular expressions on interface names; empty: every interface.',
        format: 'string-list',
        default: [] as string[],
        env: 'SOCKPULSE_INTERFACES_INCLUDE',
      },
      exclude: {
        doc: 'Interfaces to leave out: anchored regular expressions on interface names. The default leaves out loopback and the host ends of containers\' links (Docker and bridge CNI `veth*`, Calico `cali*`, Cilium `lxc*`): one per container on a busy host, each the same traffic as that container\'s own eth0, which is reported under the container.',
        format: 'string-list',
        default: ['lo', 'veth.*', 'cali.*', 'lxc.*'],
        env: 'SOCKPULSE_INTERFACES_EXCLUDE',
      },
      max_interfaces: {
        doc: 'Most interfaces reported per namespace, in the kernel\'s order; the rest are left out, reported once as a collect error (ELIMIT).',
        format: 'positive-int',
        default: 64,
        env: 'SOCKPULSE_INTERFACES_MAX_INTERFACES',
      },
    },
    resolve(raw) {
      const r = raw as unknown as Raw;
      return { selected: nameFilter('collectors.interfaces', r.include, r.exclude, true), maxInterfaces: r.max_interfaces };
    },
  },
  create(cfg) {
    let reported = false;
    // The patterns' verdict per name (the same few names in every namespace, every cycle).
    const verdicts = new Map<string, boolean>();
    const selected = (name: string): boolean => {
      let v = verdicts.get(name);
      if (v === undefined) {
        v = cfg.selected(name);
        if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
        verdicts.set(name, v);
      }
      return v;
    };
    return {
      collect(_target, files) {
        const dev = files.netdev();
        if (dev === undefined) return [];
        const out: Sample[] = [];
        let kept = 0;
        for (const d of dev.devices) {
          if (!selected(d.name)) continue;
          if (++kept > cfg.maxInterfaces) {
            if (!reported) {
              reported = true;
              files.report(new LimitError(`collectors.interfaces.max_interfaces: a namespace has more than ${cfg.maxInterfaces} selected interfaces; the rest are left out (narrow collectors.interfaces.include/exclude or raise the limit)`));
            }
            break;
          }
          const labels = { interface: d.name };
          for (const [def, way, field] of DEFS) {
            const v = d[way][field];
            if (v !== undefined) out.push({ def, value: v, labels });
          }
        }
        return out;
      },
    };
  },
};
