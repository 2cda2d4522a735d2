// Aggregated counters: bytes and packets per target × direction × class × proto, summed over the
// agent's life (a counter, like the kernel's snmp ones: sinks take increments or rates from it).
// Cardinality is bounded by design: 2 directions × 9 classes × the kernel's few l4 protocols per
// target; peers, ports and prefixes never become labels (they are in the flow records).
import { FlowRecord } from '../../core/flows';
import { namespaceCounter } from '../../core/metrics';
import { Sample, Target } from '../../core/model';

/** A series per direction × connection class × protocol (see the header). */
const FLOW_LABELS = [{ key: 'direction' }, { key: 'class' }, { key: 'proto' }] as const;
/** The JSON document's `flows` rows, by class, proto, then out before in. */
const FLOW_ORDER = [{ key: 'class' }, { key: 'proto' }, { key: 'direction', values: ['out', 'in'] }] as const;

export const flowBytes = namespaceCounter({
  key: 'flow_bytes', falcon: 'flow.bytes', prom: 'sockpulse_flow_bytes_total', otel: 'sockpulse.flow.bytes', unit: 'By',
  help: 'Bytes the namespace sent (direction=out) or received (direction=in) on tracked connections, by connection class and protocol, since the agent started',
  source: 'nf_conntrack bytes= (per direction; needs net.netfilter.nf_conntrack_acct=1)',
  labels: FLOW_LABELS,
  json: { section: 'flows', field: 'bytes', order: FLOW_ORDER },
});
export const flowPackets = namespaceCounter({
  key: 'flow_packets', falcon: 'flow.packets', prom: 'sockpulse_flow_packets_total', otel: 'sockpulse.flow.packets', unit: '{packet}',
  help: 'Packets the namespace sent (direction=out) or received (direction=in) on tracked connections, by connection class and protocol, since the agent started',
  source: 'nf_conntrack packets= (per direction; needs net.netfilter.nf_conntrack_acct=1)',
  labels: FLOW_LABELS,
  json: { section: 'flows', field: 'packets', order: FLOW_ORDER },
});

interface Series {
  labels: Record<string, string>;
  bytes: number;
  packets: number;
}

const identity = (t: Target): string => `${t.netns}:${t.pid}:${t.pidStart}`;

export class FlowTotals {
  /** target identity → series key → totals. */
  private readonly byTarget = new Map<string, Map<string, Series>>();

  add(records: readonly FlowRecord[]): void {
    for (const r of records) {
      const id = identity(r.local.target);
      let m = this.byTarget.get(id);
      if (!m) this.byTarget.set(id, (m = new Map()));
      for (const direction of ['out', 'in'] as const) {
        const c = r[direction];
        const key = `${direction} ${r.class} ${r.proto}`;
        let s = m.get(key);
        if (!s) m.set(key, (s = { labels: { direction, class: r.class, proto: r.proto }, bytes: 0, packets: 0 }));
        s.bytes += c.bytes;
        s.packets += c.packets;
      }
    }
  }

  /** Each target's samples; targets no longer present are forgotten (their counters end). */
  samples(targets: readonly Target[]): Map<Target, Sample[]> {
    const out = new Map<Target, Sample[]>();
    const live = new Set<string>();
    for (const t of targets) {
      const id = identity(t);
      live.add(id);
      const m = this.byTarget.get(id);
      if (!m) continue;
      const list: Sample[] = [];
      for (const s of m.values()) {
        list.push({ def: flowBytes, value: s.bytes, labels: { ...s.labels } }, { def: flowPackets, value: s.packets, labels: { ...s.labels } });
      }
      out.set(t, list);
    }
    for (const id of this.byTarget.keys()) if (!live.has(id)) this.byTarget.delete(id);
    return out;
  }
}
