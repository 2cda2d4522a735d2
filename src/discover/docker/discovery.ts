// Discovery through the Docker Engine API. Per cycle: one `GET /containers/json`; `inspect`
// (for State.Pid) only for container ids not seen before, or whose pid no longer shows the
// namespace it was learned in (one readlink a cycle: gone or elsewhere means restarted or reused;
// the same inode is the running container's namespace, which its process keeps alive — the rule
// of cri/known-sandboxes.ts). A container's ref is made again only when its name or image in the
// list changed (labels are fixed at creation). Ids that leave the list are forgotten.
// With discovery.watch, the engine's event stream (events.ts) stands in for the list call: the
// containers of the last list, less those that died since, plus those that started (inspected
// once, at the next cycle); a full list every discovery.resync_cycles cycles and after the
// stream reopens (../watch.ts).
import Docker from 'dockerode';
import pLimit from 'p-limit';
import { ContainerRef, Discovery, DiscoveryResult, StageError } from '../../core/model';
import { ProcReader, errnoCode } from '../../procfs/read';
import { Member, groupTargets, netnsOf, resolveHost } from '../group';
import { LabelMemo } from '../label-memo';
import { pidStartTime } from '../proc-scan';
import { labelMap } from '../../core/labels';
import { DiscoveryOptions, failed } from '../common';
import { Logger } from '../../core/log';
import { EventFeed, ListGate } from '../watch';
import { DockerEvent, dockerEventStream } from './events';

interface Known {
  pid: number;
  pidStart: number;
  /** The pid's namespace inode when it was learned. */
  netns: number;
}

/** What an inspect found: the running container as a ref, or why there is none. */
type Inspected = { ref: ContainerRef } | 'not-running' | 'failed';

interface Watch {
  feed: EventFeed<DockerEvent>;
  gate: ListGate;
  /** Running containers as the last list left them and the events since changed them. */
  running: Map<string, ContainerRef>;
  /** Started since the last cycle: inspected at the next one. */
  started: Set<string>;
}

export class DockerDiscovery implements Discovery {
  readonly name = 'docker';
  private readonly reader = new ProcReader();
  private readonly known = new Map<string, Known>();
  /** Refs made from the list, by id, with the name and image they were made from. */
  private readonly refs = new Map<string, { name: string | undefined; image: string; ref: ContainerRef }>();
  private readonly labels = new LabelMemo();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly watch: Watch | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly opts: DiscoveryOptions & { concurrency: number; endpoint: string; timeoutMs?: number },
    /** With discovery.watch: a client for the event stream (no request timeout) and the log. */
    events?: { client: Docker; log: Logger },
  ) {
    this.limit = pLimit(opts.concurrency);
    if (opts.watch?.enabled && events) {
      const feed = new EventFeed('docker', dockerEventStream(events.client), events.log);
      this.watch = { feed, gate: new ListGate(opts.watch), running: new Map(), started: new Set() };
    }
  }

  async discover(signal: AbortSignal): Promise<DiscoveryResult> {
    const { procRoot } = this.opts;
    let refs: ContainerRef[];
    const errors: StageError[] = [];
    const t0 = Date.now();
    try {
      refs = await this.current(signal, errors);
    } catch (err) {
      // docker-modem ends a timed-out request without an error of its own ("socket hang up"):
      // tell a slow engine from one that reset the connection.
      const timeout = this.opts.timeoutMs;
      const why = timeout && Date.now() - t0 >= timeout ? `no answer within ${timeout / 1000} s (docker.timeout)` : describe(err);
      // Host-only until the engine answers again: the host's numbers do not depend on it.
      const down: StageError = {
        stage: 'discover',
        code: 'EDOCKERDOWN',
        message: `docker engine at ${this.opts.endpoint} did not answer: ${why}`,
        subject: this.opts.endpoint,
      };
      const res = this.hostOnly();
      return { ...res, errors: [down, ...res.errors], down: down.message };
    }
    try {
      const host = resolveHost(this.reader, procRoot);
      const wanted = refs.filter(this.opts.filter);
      const stale = wanted.filter((r) => !this.stillSame(r.id));
      await Promise.all(stale.map((r) => this.limit(() => this.inspect(r.id, signal, errors))));

      const members: Member[] = [];
      for (const ref of wanted) {
        // Checked or learned above this cycle: no further read of /proc.
        const k = this.known.get(ref.id);
        if (!k) continue; // not running a process (created, restarting) or vanished
        members.push({ pid: k.pid, netns: k.netns, pidStart: k.pidStart, container: ref });
      }
      const targets = groupTargets(members, host, () => 'container', this.opts.copyLabels, this.reader, procRoot, this.labels);
      return { targets, errors, source: this.name, skipped: 0 };
    } catch (err) {
      return failed(this.name, err, procRoot);
    }
  }

  async close(): Promise<void> {
    this.watch?.feed.close();
  }

  /** The running containers: listed, or with watch as the events left them since the last list. */
  private async current(signal: AbortSignal, errors: StageError[]): Promise<ContainerRef[]> {
    const w = this.watch;
    if (!w) return this.list(signal);
    w.feed.start();
    if (w.gate.mayTrustEvents(w.feed)) return this.applyEvents(w, signal, errors);
    w.feed.drain(); // the list shows what these said
    w.gate.listing(w.feed);
    let refs: ContainerRef[];
    try {
      refs = await this.list(signal);
    } catch (err) {
      w.gate.failed();
      w.feed.reopen();
      throw err;
    }
    w.running.clear();
    w.started.clear();
    for (const r of refs) w.running.set(r.id, r);
    return refs;
  }

  private async list(signal: AbortSignal): Promise<ContainerRef[]> {
    const list = await this.docker.listContainers({ abortSignal: signal } as Docker.ContainerListOptions);
    this.forgetGone(new Set(list.map((c) => c.Id)));
    return list.map((c) => this.toRef(c));
  }

  private toRef(c: Docker.ContainerInfo): ContainerRef {
    const was = this.refs.get(c.Id);
    if (was !== undefined && was.name === c.Names?.[0] && was.image === c.Image) return was.ref;
    const ref = toRef(c);
    this.refs.set(c.Id, { name: c.Names?.[0], image: c.Image, ref });
    return ref;
  }

  /** The events since the last cycle, in order; a started container is inspected (only it). */
  private async applyEvents(w: Watch, signal: AbortSignal, errors: StageError[]): Promise<ContainerRef[]> {
    for (const e of w.feed.drain()) {
      if (e.action === 'start') w.started.add(e.id);
      else if (e.action === 'rename') {
        const r = w.running.get(e.id);
        if (r && e.name) w.running.set(e.id, { ...r, name: e.name.replace(/^\//, '') });
      } else {
        // die, destroy: its process is gone (a restart is a die, then a start).
        w.running.delete(e.id);
        w.started.delete(e.id);
        this.known.delete(e.id);
      }
    }
    const fresh = [...w.started];
    w.started.clear();
    await Promise.all(
      fresh.map((id) =>
        this.limit(async () => {
          const got = await this.inspect(id, signal, errors);
          if (got === 'failed') w.started.add(id); // asked again next cycle
          else if (got === 'not-running') w.running.delete(id);
          else w.running.set(id, got.ref);
        }),
      ),
    );
    return [...w.running.values()];
  }

  private hostOnly(): DiscoveryResult {
    try {
      const host = resolveHost(this.reader, this.opts.procRoot);
      return { targets: groupTargets([], host, () => 'container', [], this.reader, this.opts.procRoot), errors: [], source: this.name, skipped: 0 };
    } catch (err) {
      return failed(this.name, err, this.opts.procRoot);
    }
  }

  /** The cached pid still shows the namespace it was learned in; if not, it is forgotten. */
  private stillSame(id: string): boolean {
    const k = this.known.get(id);
    if (k === undefined) return false;
    if (netnsOf(this.opts.procRoot, k.pid) === k.netns) return true;
    this.known.delete(id);
    return false;
  }

  /** Learns the container's pid (kept in `known`); also its ref, for a container known only by an event. */
  private async inspect(id: string, signal: AbortSignal, errors: StageError[]): Promise<Inspected> {
    this.known.delete(id);
    try {
      const info = await this.docker.getContainer(id).inspect({ abortSignal: signal } as object);
      const pid = info.State?.Pid ?? 0;
      if (pid <= 0) return 'not-running';
      const pidStart = pidStartTime(this.reader, this.opts.procRoot, pid);
      const netns = pidStart === undefined ? undefined : netnsOf(this.opts.procRoot, pid);
      if (pidStart === undefined || netns === undefined) return 'not-running';
      this.known.set(id, { pid, pidStart, netns });
      const c = info.Config;
      return { ref: { id, name: (info.Name ?? '').replace(/^\//, ''), image: c?.Image, labels: labelMap(c?.Labels ?? {}) } };
    } catch (err) {
      // 404: removed between list and inspect — an ordinary race, not an error.
      if ((err as { statusCode?: number }).statusCode === 404) return 'not-running';
      errors.push({ stage: 'discover', code: errnoCode(err), message: `inspect ${id.slice(0, 12)}: ${describe(err)}`, subject: id });
      return 'failed';
    }
  }

  private forgetGone(listed: Set<string>): void {
    for (const id of this.known.keys()) if (!listed.has(id)) this.known.delete(id);
    for (const id of this.refs.keys()) if (!listed.has(id)) this.refs.delete(id);
  }
}

function toRef(c: Docker.ContainerInfo): ContainerRef {
  return { id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), image: c.Image, labels: labelMap(c.Labels ?? {}) };
}

function describe(err: unknown): string {
  const e = err as { code?: string; statusCode?: number; message?: string };
  return e.statusCode ? `HTTP ${e.statusCode}: ${e.message}` : `${e.code ?? ''} ${e.message ?? String(err)}`.trim();
}
