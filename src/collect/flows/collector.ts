// The flows collector: once per cycle (plan) it reads the conntrack tables that carry pod
// traffic, turns each connection's counters into the delta since the previous read, attributes
// the local side to a target by IP and classifies the remote side; collect(target) then hands
// each target its aggregated counters. See README.md for the rules and their reasons.
import * as fs from 'fs';
import { FlowInterval, FlowRecord } from '../../core/flows';
import { Sample, StageError, Target } from '../../core/model';
import { ConntrackEntry, ConntrackParse, fillAddresses, parseConntrack } from '../../procfs/nf-conntrack';
import { ProcReader, errnoCode } from '../../procfs/read';
import { parseFibTrieLocal, parseIfInet6 } from '../../procfs/addresses';
import { Collector } from '../collector';
import { kernelForm } from './addr';
import { Classifier, ClassifyConfig } from './classify';
import { FlowTable } from './table';
import { FlowTotals } from './totals';

export interface FlowsConfig extends ClassifyConfig {
  /** First read of a table: `baseline` (connections already open count from the next read on) or `count` (their bytes so far count). */
  firstRead: 'baseline' | 'count';
}

/** Namespaces whose conntrack table is read this cycle, with the targets found in it. */
interface Observer {
  target: Target;
  identity: string;
}

const identity = (t: Target): string => `${t.netns}:${t.pid}:${t.pidStart}`;

export class FlowsCollector implements Collector {
  private readonly reader = new ProcReader(64 * 1024);
  private readonly classifier: Classifier;
  private tables = new Map<string, FlowTable>();
  private readonly totals = new FlowTotals();
  private samples = new Map<Target, Sample[]>();
  /** Target identity → its addresses in the kernel's form, when discovery gave none. */
  private addresses = new Map<string, string[]>();
  private lastRead: number | undefined;
  /** The flows of the last read (for row sinks and tests); replaced by every read. */
  lastInterval: FlowInterval | undefined;
  /** What the last read parsed, per observer identity (entries, malformed, unaccounted). */
  lastParse = new Map<string, ConntrackParse>();

  constructor(private readonly cfg: FlowsConfig) {
    this.classifier = new Classifier(cfg);
  }

  collect(target: Target): Sample[] {
    return this.samples.get(target) ?? [];
  }

  /** This cycle's records, for the batch (row sinks: deliver/clickhouse/). */
  flowInterval(): FlowInterval | undefined {
    return this.lastInterval;
  }

  plan(targets: readonly Target[], _files: unknown, procRoot: string): StageError[] {
    const errors: StageError[] = [];
    this.lastInterval = undefined; // a read that fails part-way hands no stale records on
    const now = Date.now();
    const records: FlowRecord[] = [];
    // Local side → target. Host-network pods share the host's addresses: the host target has no
    // ips, so their flows are not attributed to any pod.
    const byIp = new Map<string, Target>();
    const own = new Map<string, string[]>();
    for (const t of targets) {
      if (t.scope === 'host') continue;
      const ips = t.ips ? t.ips.map(kernelForm).filter((k): k is string => k !== undefined) : this.ownAddresses(t, procRoot);
      if (ips.length > 0) own.set(identity(t), ips); // none yet (CNI not done): asked again next cycle
      for (const k of ips) byIp.set(k, t);
    }
    this.addresses = own; // forgets namespaces that are gone
    const observers = this.observers(targets, procRoot, errors);
    // A target whose own namespace tracks its connections is observed there; the host table's
    // copies of the same connections are skipped so they are not counted twice.
    const ownTable = new Set(observers.filter((o) => o.target.scope !== 'host').map((o) => o.target));
    // (a table's own namespace is always accepted; see attribute())
    const seenTables = new Map<string, FlowTable>();
    this.lastParse = new Map();
    for (const o of observers) {
      const text = this.readTable(o.target, procRoot, errors);
      if (text === undefined) continue;
      let table = this.tables.get(o.identity);
      if (!table) table = new FlowTable(this.cfg.firstRead);
      seenTables.set(o.identity, table);
      table.begin();
      const parse = parseConntrack(text, (e) => {
        const d = table!.delta(e);
        if (d === undefined || (d.origPackets === 0 && d.replyPackets === 0 && d.origBytes === 0 && d.replyBytes === 0)) return;
        fillAddresses(e);
        this.attribute(e, d, o.target, byIp, ownTable, records);
      }, true);
      table.end();
      this.lastParse.set(o.identity, parse);
      const where = `${procRoot}/${o.target.pid}/net/nf_conntrack`;
      if (parse.malformed > 0) {
        const s = parse.samples[0];
        errors.push({ stage: 'collect', code: 'EMALFORMED', message: `${where}: ${parse.malformed} malformed line(s), first: ${s.reason}: "${s.line}"`, subject: 'flows' });
      }
      if (parse.entries > 0 && parse.unaccounted === parse.entries) {
        errors.push({
          stage: 'collect', code: 'EFLOWSACCT', subject: 'flows',
          message: `${where}: no connection carries bytes=/packets=: net.netfilter.nf_conntrack_acct is 0 in netns ${o.target.netns} (or was when they began); set net.netfilter.nf_conntrack_acct=1 in that namespace`,
        });
      }
    }
    this.tables = seenTables; // a namespace no longer read forgets its connections
    this.totals.add(records);
    this.samples = this.totals.samples(targets);
    this.lastInterval = { start: this.lastRead ?? now, end: now, records, node: { zone: this.cfg.zone, region: this.cfg.region } };
    this.lastRead = now;
    return errors;
  }

  /** The host namespace, and each other namespace whose own conntrack table holds entries. */
  private observers(targets: readonly Target[], procRoot: string, errors: StageError[]): Observer[] {
    const out: Observer[] = [];
    for (const t of targets) {
      if (t.scope === 'host') {
        if (this.accountingOff(procRoot, t, errors)) continue;
        out.push({ target: t, identity: identity(t) });
      } else if (ownEntries(procRoot, t) > 0) out.push({ target: t, identity: identity(t) });
    }
    return out;
  }

  /**
   * The sysctl can only be read for the agent's own namespace (/proc/sys shows the reader's):
   * when the host target is that namespace and accounting is off, the table is not read at all.
   * Other namespaces are judged by their entries (see plan).
   */
  private accountingOff(procRoot: string, host: Target, errors: StageError[]): boolean {
    let own: number;
    try {
      own = fs.statSync(`${procRoot}/self/ns/net`).ino;
    } catch {
      return false;
    }
    if (own !== host.netns) return false;
    let value: string;
    try {
      value = fs.readFileSync(`${procRoot}/sys/net/netfilter/nf_conntrack_acct`, 'latin1').trim();
    } catch {
      return false; // no conntrack at all: readTable says so
    }
    if (value !== '0') return false;
    errors.push({
      stage: 'collect', code: 'EFLOWSACCT', subject: 'flows',
      message: 'net.netfilter.nf_conntrack_acct=0 in the host namespace: conntrack keeps no byte or packet counters, so the flows collector reports nothing. Set it (sysctl -w net.netfilter.nf_conntrack_acct=1, or in /etc/sysctl.d); connections that began before keep no counters.',
    });
    return true;
  }

  /**
   * A target discovery gave no addresses (Docker, netns, procfs discovery; CRI gives pod IPs): the
   * namespace's own, from its fib_trie and if_inet6, read once per namespace identity.
   */
  private ownAddresses(t: Target, procRoot: string): string[] {
    const known = this.addresses.get(identity(t));
    if (known) return known;
    const read = (f: string): string => {
      try {
        return this.reader.read(`${procRoot}/${t.pid}/net/${f}`);
      } catch {
        return ''; // no IPv6, or the process left (the collect stage tells)
      }
    };
    return [...parseFibTrieLocal(read('fib_trie')), ...parseIfInet6(read('if_inet6'))];
  }

  private readTable(t: Target, procRoot: string, errors: StageError[]): string | undefined {
    const path = `${procRoot}/${t.pid}/net/nf_conntrack`;
    try {
      return this.reader.read(path);
    } catch (err) {
      const code = errnoCode(err);
      let message = `${path}: ${(err as Error).message}`;
      if (code === 'ENOENT') {
        if (!fs.existsSync(`${procRoot}/${t.pid}/net/sockstat`)) return undefined; // the process left
        message = fs.existsSync(`${procRoot}/${t.pid}/net/stat/nf_conntrack`)
          ? `${path} is absent: the kernel tracks connections but was built without CONFIG_NF_CONNTRACK_PROCFS; sockpulse reads conntrack only through that file (the same table is offered over netlink, e.g. \`conntrack -L -o extended\`, which sockpulse does not use)`
          : `${path} is absent: conntrack is not loaded (module nf_conntrack) in this kernel, so no connection is tracked`;
      } else if (code === 'EACCES' || code === 'EPERM') {
        message = `${path}: permission denied: the file is 0440 root; the agent needs root or CAP_DAC_READ_SEARCH to read it (CAP_SYS_PTRACE and CAP_NET_ADMIN do not open it)`;
      }
      errors.push({ stage: 'collect', code, message, subject: 'flows' });
      return undefined;
    }
  }

  /** One record per local side of a connection that moved (two when both ends are local pods). */
  private attribute(
    e: ConntrackEntry,
    d: { origBytes: number; origPackets: number; replyBytes: number; replyPackets: number },
    observer: Target,
    byIp: Map<string, Target>,
    ownTable: Set<Target>,
    out: FlowRecord[],
  ): void {
    // Original direction: origSrc → origDst. The reply comes from replySrc (the real peer after
    // DNAT, e.g. a service address resolved to a pod) to replyDst (the originator after SNAT).
    const opener = byIp.get(e.origSrc);
    const answerer = byIp.get(e.replySrc);
    const sport = e.origSport >= 0 ? e.origSport : null;
    const rport = e.replySport >= 0 ? e.replySport : null;
    const accept = (t: Target): boolean => t === observer || !ownTable.has(t);
    if (opener && accept(opener)) {
      out.push(this.record(e, observer.netns, 'local', opener, e.origSrc, sport, e.replySrc, rport, answerer,
        d.origBytes, d.origPackets, d.replyBytes, d.replyPackets));
    }
    if (answerer && accept(answerer) && answerer !== opener) {
      out.push(this.record(e, observer.netns, 'remote', answerer, e.replySrc, rport, e.origSrc, sport, opener,
        d.replyBytes, d.replyPackets, d.origBytes, d.origPackets));
    }
  }

  private record(
    e: ConntrackEntry, observer: number, initiator: 'local' | 'remote', local: Target, localIp: string, localPort: number | null,
    remoteIp: string, remotePort: number | null, remoteTarget: Target | undefined,
    outBytes: number, outPackets: number, inBytes: number, inPackets: number,
  ): FlowRecord {
    const info = remoteTarget ? undefined : this.classifier.remote(remoteIp);
    return {
      observer, family: e.family, proto: e.proto, zone: e.zone, initiator,
      local: { target: local, ip: localIp, port: localPort },
      remote: remoteTarget
        ? { ip: remoteIp, port: remotePort, kind: 'pod', target: remoteTarget }
        : {
            ip: remoteIp, port: remotePort, kind: info!.kind,
            ...(info!.zone !== undefined ? { zone: info!.zone } : {}),
            ...(info!.region !== undefined ? { region: info!.region } : {}),
            ...(info!.cloudService !== undefined ? { cloudService: info!.cloudService } : {}),
          },
      class: remoteTarget ? 'same_node' : info!.class,
      flags: remoteTarget ? {} : info!.flags,
      out: { bytes: outBytes, packets: outPackets },
      in: { bytes: inBytes, packets: inPackets },
    };
  }
}

/** Entries in a namespace's own table: the first column of /proc/<pid>/net/stat/nf_conntrack (hex, world-readable). */
function ownEntries(procRoot: string, t: Target): number {
  let text: string;
  try {
    text = fs.readFileSync(`${procRoot}/${t.pid}/net/stat/nf_conntrack`, 'latin1');
  } catch {
    return 0; // no conntrack in the kernel, or the process left
  }
  const nl = text.indexOf('\n');
  const line = nl < 0 ? '' : text.slice(nl + 1, text.indexOf(' ', nl + 1));
  const n = parseInt(line, 16);
  return Number.isFinite(n) ? n : 0;
}
