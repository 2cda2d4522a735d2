// `auto`: the first runtime that answers, else every namespace under /proc. Runtimes are tried in
// the registry's order (discover/registry.ts) — today Docker — and decided every cycle, so an
// engine that starts or stops later is followed without a restart; a change is logged once. A
// runtime whose socket does not exist is not even tried, and its client (dockerode alone is
// ~23 MB of RSS) is only built once the socket appears.
import { Discovery, DiscoveryResult } from '../core/model';

export interface AutoCandidate {
  name: string;
  /** Whether to try it now (its socket exists); cheap, no connection. */
  present(): boolean;
  /** Why it is not tried, for the log. */
  absent(): string;
  make(): Discovery;
}

export class AutoDiscovery implements Discovery {
  readonly name = 'auto';
  private current: string | undefined;
  private readonly built = new Map<string, Discovery>();

  constructor(
    private readonly candidates: readonly AutoCandidate[],
    private readonly fallback: Discovery,
    private readonly onSwitch: (source: string, reason?: string) => void,
  ) {}

  async discover(signal: AbortSignal): Promise<DiscoveryResult> {
    const reasons: string[] = [];
    for (const c of this.candidates) {
      if (!c.present()) {
        reasons.push(c.absent());
        continue;
      }
      let source = this.built.get(c.name);
      if (!source) this.built.set(c.name, (source = c.make()));
      const result = await source.discover(signal);
      if (result.down === undefined) return this.switched(result);
      reasons.push(result.down);
    }
    return this.switched(await this.fallback.discover(signal), reasons.join('; ') || undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.built.values()].map((d) => d.close?.()));
  }

  private switched(result: DiscoveryResult, reason?: string): DiscoveryResult {
    if (result.source !== this.current) {
      this.current = result.source;
      this.onSwitch(result.source, reason);
    }
    return result;
  }
}
