// `auto`: Docker when the engine answers, else every namespace under /proc. Decided every cycle,
// so an engine that starts or stops later is followed without a restart; a change is logged once.
// On a unix-socket endpoint that does not exist, Docker is not even tried — and its client (with
// dockerode, ~23 MB of RSS) is only built once the socket appears.
import * as fs from 'fs';
import { Discovery, DiscoveryResult } from '../core/model';

/** Error code when the engine cannot be listed at all (docker/discovery.ts); `auto` falls back on it. */
export const ENGINE_DOWN = 'EDOCKERDOWN';

export class AutoDiscovery implements Discovery {
  readonly name = 'auto';
  private current: string | undefined;
  private docker: Discovery | undefined;

  constructor(
    private readonly makeDocker: () => Discovery,
    private readonly procfs: Discovery,
    /** The engine's unix socket path, or undefined for a TCP endpoint (always tried). */
    private readonly socketPath: string | undefined,
    private readonly onSwitch: (source: string, reason?: string) => void,
  ) {}

  async discover(signal: AbortSignal): Promise<DiscoveryResult> {
    let down: string | undefined;
    if (this.socketPath !== undefined && !fs.existsSync(this.socketPath)) {
      down = `no Docker socket at ${this.socketPath}`;
    } else {
      this.docker ??= this.makeDocker();
      const viaDocker = await this.docker.discover(signal);
      down = viaDocker.errors.find((e) => e.code === ENGINE_DOWN)?.message;
      if (down === undefined) return this.switched(viaDocker);
    }
    return this.switched(await this.procfs.discover(signal), down);
  }

  private switched(result: DiscoveryResult, reason?: string): DiscoveryResult {
    if (result.source !== this.current) {
      this.current = result.source;
      this.onSwitch(result.source, reason);
    }
    return result;
  }
}
