// Discovery through the Kubernetes CRI. Per cycle: one ListPodSandbox (ready sandboxes) and one
// ListContainers (running containers); PodSandboxStatus{verbose} only for sandboxes not seen
// before, or whose process no longer shows the namespace it was learned in (known-sandboxes.ts:
// the rule, and why one readlink per pod is enough). The pid comes from the verbose `info` JSON
// (`pid`, containerd and CRI-O); a runtime that gives none is served by a scan of
// /proc/<pid>/cgroup for the sandbox's id. When many sandboxes are new at once (a cold start),
// one /proc scan finds their pause processes first and only the rest are asked
// (sandbox-scan.ts: the rule, and what the scan leaves to the status). Sandboxes that leave the
// list are forgotten.
// With discovery.watch, the runtime's event stream stands in for the two list calls
// (watched-pods.ts). A runtime without the stream (containerd 1.6: UNIMPLEMENTED) is listed every
// cycle, and the log says so once.
import * as fs from 'fs';
import pLimit from 'p-limit';
import { ContainerRef, Discovery, DiscoveryResult, StageError } from '../../core/model';
import { Logger } from '../../core/log';
import { labelMap } from '../../core/labels';
import { ProcReader, unlessGone } from '../../procfs/read';
import { Member, groupTargets, resolveHost } from '../group';
import { parseCgroup } from '../cgroup';
import { DiscoveryOptions, failed } from '../common';
import { LabelMemo } from '../label-memo';
import { namespaceIps } from '../own-ips';
import { CriClient, CriContainer, PodSandbox, PodSandboxStatusResponse, isDeadline, isNotFound } from './client';
import { CriConfig } from './settings';
import { Pods, WatchedPods } from './watched-pods';
import { KnownSandboxes } from './known-sandboxes';
import { DEFAULT_SCAN_RULE, ScanRule, listPids, scanSandboxes } from './sandbox-scan';

/** A sandbox whose verbose status gave no pid, waiting for the cgroup scan. */
interface NoPid {
  id: string;
  node: boolean;
  ips: string[];
}

export class CriDiscovery implements Discovery {
  readonly name = 'cri';
  private readonly reader = new ProcReader();
  private readonly known: KnownSandboxes;
  /** Pods' labels, built again only when their refs change. */
  private readonly labels = new LabelMemo();
  private readonly limit: ReturnType<typeof pLimit>;
  private client: CriClient | undefined;
  /** Logged once per client: which runtime answers. */
  private greeted = false;
  private readonly pidPaths = new Set<string>();
  private watch: WatchedPods | undefined;
  /** The last cycle found the runtime down: when it answers again, it may have been upgraded. */
  private wasDown = false;

  constructor(
    private readonly cfg: CriConfig,
    private readonly opts: DiscoveryOptions,
    private readonly log: Logger,
    /** How the client for a socket is made (tests wrap it to play a runtime that differs). */
    private readonly makeClient: (socketPath: string, timeoutMs: number) => CriClient = (p, t) => new CriClient(p, t),
    /** When a cycle's new sandboxes are looked for by a /proc scan first (tests pin it). */
    private readonly scanRule: ScanRule = DEFAULT_SCAN_RULE,
  ) {
    this.limit = pLimit(cfg.statusConcurrency);
    this.known = new KnownSandboxes(this.reader, opts.procRoot);
  }

  async discover(signal: AbortSignal): Promise<DiscoveryResult> {
    const { procRoot } = this.opts;
    const socket = this.cfg.sockets.find((s) => fs.existsSync(s));
    if (socket === undefined) {
      const tried = this.cfg.sockets.join(', ');
      return this.down(tried, `no CRI socket at ${tried} (set cri.endpoint or CONTAINER_RUNTIME_ENDPOINT)`);
    }
    if (this.client?.socketPath !== socket) {
      this.client?.close();
      this.client = this.makeClient(socket, this.cfg.timeoutMs);
      this.greeted = false;
      this.watch?.close();
      const w = this.opts.watch;
      this.watch = w?.enabled ? new WatchedPods(this.client, w, this.log) : undefined;
    }
    const client = this.client;
    let sandboxes: PodSandbox[];
    let containers: CriContainer[];
    try {
      const list = (): Promise<Pods> => Promise.all([client.listReadySandboxes(signal), client.listRunningContainers(signal)]);
      [sandboxes, containers] = this.watch ? await this.watch.pods(list) : await list();
      if (this.wasDown) this.watch?.runtimeBack();
      this.wasDown = false;
    } catch (err) {
      this.greeted = false;
      this.wasDown = true;
      const why = isDeadline(err) ? `no answer within ${this.cfg.timeoutMs / 1000} s (cri.timeout)` : describe(err);
      return this.down(socket, `CRI runtime at ${socket} did not answer: ${why}`);
    }
    // Said once per client, alongside the cycle's status calls rather than ahead of them.
    const greeting = this.greeted ? undefined : this.greet(client, signal);
    try {
      const host = resolveHost(this.reader, procRoot);
      const errors: StageError[] = [];
      this.known.keep(new Set(sandboxes.map((s) => s.id)));
      const stale = sandboxes.filter((s) => this.known.current(s.id) === undefined);
      const ask = stale.length >= this.scanRule.minNew ? this.scanned(stale, sandboxes, host.netns) : stale;
      const noPid: NoPid[] = [];
      await Promise.all(ask.map((s) => this.limit(() => this.status(client, s, signal, errors, noPid))));
      if (noPid.length > 0) this.findByCgroup(noPid);

      const bySandbox = new Map<string, CriContainer[]>();
      for (const c of containers) {
        const list = bySandbox.get(c.pod_sandbox_id);
        if (list) list.push(c);
        else bySandbox.set(c.pod_sandbox_id, [c]);
      }
      const members: Member[] = [];
      const ips = new Map<number, string[]>();
      for (const s of sandboxes) {
        // Learned this cycle, or checked above: no further read of /proc.
        const k = this.known.learned(s.id);
        if (!k) continue; // vanished before its status, or no process found
        const netns = k.node ? host.netns : k.netns;
        const cs = bySandbox.get(s.id) ?? [];
        const key = cs.length === 0 ? '' : cs.length === 1 ? cs[0].id : cs.map((c) => c.id).sort().join(',');
        const refs = this.known.refs(s.id, key, () => podRefs(s, cs).filter(this.opts.filter));
        if (refs.length === 0) continue;
        for (const container of refs) members.push({ pid: k.pid, netns, pidStart: k.pidStart, container });
        if (!k.node && k.ips.length > 0) ips.set(netns, k.ips);
      }
      const targets = groupTargets(members, host, () => 'container', this.opts.copyLabels, this.reader, procRoot, this.labels);
      for (const t of targets) {
        const list = t.scope === 'host' ? undefined : ips.get(t.netns);
        if (list) t.ips = list;
      }
      return { targets, errors, source: this.name, skipped: 0 };
    } catch (err) {
      return failed(this.name, err, procRoot);
    } finally {
      await greeting; // never rejects
    }
  }

  async close(): Promise<void> {
    this.watch?.close();
    this.watch = undefined;
    this.client?.close();
    this.client = undefined;
  }

  /** Host-only until the runtime answers again: the host's numbers do not depend on it. */
  private down(subject: string, message: string): DiscoveryResult {
    const down: StageError = { stage: 'discover', code: 'ECRIDOWN', message, subject };
    try {
      const host = resolveHost(this.reader, this.opts.procRoot);
      const targets = groupTargets([], host, () => 'container', [], this.reader, this.opts.procRoot);
      return { targets, errors: [down], source: this.name, skipped: 0, down: down.message };
    } catch (err) {
      const res = failed(this.name, err, this.opts.procRoot);
      return { ...res, errors: [down, ...res.errors], down: down.message };
    }
  }

  private async greet(client: CriClient, signal: AbortSignal): Promise<void> {
    this.greeted = true;
    try {
      const v = await client.version(signal);
      this.log.info({ endpoint: client.socketPath, runtime: v.runtime_name, runtime_version: v.runtime_version, api: v.runtime_api_version }, 'CRI runtime answering');
    } catch (err) {
      this.log.info({ endpoint: client.socketPath, err: describe(err) }, 'CRI runtime answering (Version failed)');
    }
  }

  private async status(client: CriClient, s: PodSandbox, signal: AbortSignal, errors: StageError[], noPid: NoPid[]): Promise<void> {
    this.known.forget(s.id);
    let res: PodSandboxStatusResponse;
    try {
      res = await client.sandboxStatus(s.id, signal);
    } catch (err) {
      // Removed between the list and the status call: an ordinary race, not an error.
      if (isNotFound(err)) return;
      errors.push({ stage: 'discover', code: 'ECRISTATUS', message: `status of pod sandbox ${s.id.slice(0, 12)}: ${describe(err)}`, subject: s.id });
      return;
    }
    if (res.status === null || res.status.state !== 'SANDBOX_READY') return;
    const node = res.status.linux?.namespaces?.options?.network === 'NODE';
    const net = res.status.network;
    const ips = net && net.ip ? [net.ip, ...net.additional_ips.map((a) => a.ip).filter((ip) => ip)] : [];
    const pid = infoPid(res.info);
    if (pid === undefined) noPid.push({ id: s.id, node, ips });
    else this.remember(s.id, pid, node, ips, 'info');
  }

  /**
   * The new sandboxes still to ask by status: all of them, or, when the scan rule says so, those
   * one /proc scan did not find (the found ones are learned here, as POD-mode pods, their IPs
   * read from their namespace: own-ips.ts).
   */
  private scanned(stale: PodSandbox[], listed: PodSandbox[], hostNetns: number): PodSandbox[] {
    const { procRoot } = this.opts;
    const pids = listPids(procRoot);
    if (stale.length * this.scanRule.procsPerStatus < pids.length) return stale;
    const skip = new Set<number>();
    for (const s of listed) {
      const k = this.known.learned(s.id);
      if (k) skip.add(k.netns);
    }
    const found = scanSandboxes(this.reader, procRoot, pids, new Set(stale.map((s) => s.id)), hostNetns, skip);
    const ask: PodSandbox[] = [];
    for (const s of stale) {
      const f = found.get(s.id);
      if (f === undefined || !this.remember(s.id, f.pid, false, namespaceIps(this.reader, procRoot, f.pid), 'scan')) ask.push(s);
    }
    if (ask.length > 0) {
      this.log.debug(
        { found: stale.length - ask.length, asked: ask.length, sandboxes: ask.slice(0, 8).map((s) => s.id.slice(0, 12)), processes: pids.length },
        'pod sandboxes the /proc scan did not find outside the host namespace (hostNetwork, cgroup form unknown, pause not visible here): asking their status',
      );
    }
    return ask;
  }

  private remember(id: string, pid: number, node: boolean, ips: string[], via: 'info' | 'cgroup' | 'scan'): boolean {
    if (!this.known.learn(id, pid, node, ips)) return false; // gone already: looked up again next cycle if still listed
    if (!this.pidPaths.has(via)) {
      this.pidPaths.add(via);
      this.log.info({ sandbox: id.slice(0, 12), pid, via }, PID_PATHS[via]);
    }
    return true;
  }

  /** One walk of the proc root for every sandbox whose status held no pid: the process whose cgroup names the sandbox. */
  private findByCgroup(sandboxes: NoPid[]): void {
    const wanted = new Set(sandboxes.map((s) => s.id));
    const found = new Map<string, number>();
    for (const name of fs.readdirSync(this.opts.procRoot)) {
      if (!/^\d+$/.test(name)) continue;
      const text = unlessGone(() => this.reader.read(`${this.opts.procRoot}/${name}/cgroup`));
      const c = text === undefined ? undefined : parseCgroup(text);
      if (c && wanted.has(c.id)) {
        const pid = Number(name);
        if (!found.has(c.id) || pid < found.get(c.id)!) found.set(c.id, pid);
      }
    }
    for (const s of sandboxes) {
      const pid = found.get(s.id);
      if (pid !== undefined) this.remember(s.id, pid, s.node, s.ips, 'cgroup');
    }
  }
}

const PID_PATHS = {
  info: 'pod sandbox pids from the runtime\'s verbose sandbox status (info.pid)',
  cgroup: 'the runtime gives no pid in its verbose sandbox status: pod sandbox pids found by a /proc cgroup scan',
  scan: 'many new pod sandboxes at once: their pids found by one /proc cgroup scan, a status call only for those it does not find',
} as const;

/** `pid` of the verbose status's `info` JSON (containerd, CRI-O), when positive. */
export function infoPid(info: Record<string, string>): number | undefined {
  const text = info.info;
  if (!text) return undefined;
  // containerd writes `pid` first, ahead of a few kB of runtime spec: read it without parsing those.
  const first = /^\{"pid":(\d{1,15})[,}]/.exec(text);
  if (first) return Number(first[1]) > 0 ? Number(first[1]) : undefined;
  try {
    const pid = (JSON.parse(text) as { pid?: unknown }).pid;
    return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A pod as container refs: its sandbox (labelled with the pod's labels) and its running app
 * containers, each carrying the pod's labels plus its own name as the kubelet's
 * io.kubernetes.container.name, so labels.ts names the pod and its containers as for Docker.
 */
export function podRefs(s: PodSandbox, containers: CriContainer[]): ContainerRef[] {
  const pod = labelMap(s.labels);
  const meta = s.metadata;
  if (meta) {
    pod['io.kubernetes.pod.name'] ??= meta.name;
    pod['io.kubernetes.pod.namespace'] ??= meta.namespace;
    pod['io.kubernetes.pod.uid'] ??= meta.uid;
  }
  for (const k of Object.keys(pod)) if (pod[k] === '') delete pod[k];
  const refs: ContainerRef[] = [{ id: s.id, name: meta?.name || s.id.slice(0, 12), labels: pod, sandbox: true }];
  for (const c of containers) {
    const name = c.metadata?.name ?? '';
    const labels = labelMap({ ...pod, ...c.labels });
    if (name) labels['io.kubernetes.container.name'] ??= name;
    refs.push({ id: c.id, name: name || c.id.slice(0, 12), image: c.image?.image || c.image_ref || undefined, labels });
  }
  return refs;
}

function describe(err: unknown): string {
  const e = err as { code?: number | string; details?: string; message?: string };
  return e.details ? `${e.details}` : `${e.message ?? String(err)}`;
}
