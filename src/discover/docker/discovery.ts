// Discovery through the Docker Engine API. Per cycle: one `GET /containers/json`; `inspect`
// (for State.Pid) only for container ids not seen before, or whose cached pid no longer is the
// same process (container restarted). Ids that leave the list are forgotten.
import Docker from 'dockerode';
import pLimit from 'p-limit';
import { ContainerRef, Discovery, DiscoveryResult, StageError } from '../../core/model';
import { ProcReader, errnoCode } from '../../procfs/read';
import { Member, groupTargets, netnsOf, resolveHost } from '../group';
import { pidStartTime } from '../proc-scan';
import { labelMap } from '../../core/labels';
import { DiscoveryOptions, failed } from '../common';

interface Known {
  pid: number;
  pidStart: number;
}


export class DockerDiscovery implements Discovery {
  readonly name = 'docker';
  private readonly reader = new ProcReader();
  private readonly known = new Map<string, Known>();
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(
    private readonly docker: Docker,
    private readonly opts: DiscoveryOptions & { concurrency: number; endpoint: string; timeoutMs?: number },
  ) {
    this.limit = pLimit(opts.concurrency);
  }

  async discover(signal: AbortSignal): Promise<DiscoveryResult> {
    const { procRoot } = this.opts;
    let list: Docker.ContainerInfo[];
    const t0 = Date.now();
    try {
      list = await this.docker.listContainers({ abortSignal: signal } as Docker.ContainerListOptions);
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
      const errors: StageError[] = [];
      const refs = list.map(toRef).filter(this.opts.filter);
      this.forgetGone(new Set(list.map((c) => c.Id)));
      const stale = refs.filter((r) => !this.stillSame(r.id));
      await Promise.all(stale.map((r) => this.limit(() => this.inspect(r, signal, errors))));

      const members: Member[] = [];
      for (const ref of refs) {
        const k = this.known.get(ref.id);
        if (!k) continue; // not running a process (created, restarting) or vanished
        const netns = netnsOf(procRoot, k.pid);
        if (netns === undefined) {
          this.known.delete(ref.id);
          continue;
        }
        members.push({ pid: k.pid, netns, pidStart: k.pidStart, container: ref });
      }
      const targets = groupTargets(members, host, () => 'container', this.opts.copyLabels, this.reader, procRoot);
      return { targets, errors, source: this.name, skipped: 0 };
    } catch (err) {
      return failed(this.name, err, procRoot);
    }
  }

  private hostOnly(): DiscoveryResult {
    try {
      const host = resolveHost(this.reader, this.opts.procRoot);
      return { targets: groupTargets([], host, () => 'container', [], this.reader, this.opts.procRoot), errors: [], source: this.name, skipped: 0 };
    } catch (err) {
      return failed(this.name, err, this.opts.procRoot);
    }
  }

  /** The cached pid is still the container's process: same pid, same start time. */
  private stillSame(id: string): boolean {
    const k = this.known.get(id);
    return k !== undefined && pidStartTime(this.reader, this.opts.procRoot, k.pid) === k.pidStart;
  }

  private async inspect(ref: ContainerRef, signal: AbortSignal, errors: StageError[]): Promise<void> {
    this.known.delete(ref.id);
    try {
      const info = await this.docker.getContainer(ref.id).inspect({ abortSignal: signal } as object);
      const pid = info.State?.Pid ?? 0;
      if (pid <= 0) return;
      const pidStart = pidStartTime(this.reader, this.opts.procRoot, pid);
      if (pidStart !== undefined) this.known.set(ref.id, { pid, pidStart });
    } catch (err) {
      // 404: removed between list and inspect — an ordinary race, not an error.
      if ((err as { statusCode?: number }).statusCode === 404) return;
      errors.push({ stage: 'discover', code: errnoCode(err), message: `inspect ${ref.id.slice(0, 12)}: ${describe(err)}`, subject: ref.id });
    }
  }

  private forgetGone(listed: Set<string>): void {
    for (const id of this.known.keys()) if (!listed.has(id)) this.known.delete(id);
  }
}

function toRef(c: Docker.ContainerInfo): ContainerRef {
  return { id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), image: c.Image, labels: labelMap(c.Labels ?? {}) };
}

function describe(err: unknown): string {
  const e = err as { code?: string; statusCode?: number; message?: string };
  return e.statusCode ? `HTTP ${e.statusCode}: ${e.message}` : `${e.code ?? ''} ${e.message ?? String(err)}`.trim();
}
