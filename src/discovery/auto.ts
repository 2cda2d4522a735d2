// `auto`: Docker when the engine answers, else every namespace under /proc. Decided every cycle,
// so an engine that starts or stops later is followed without a restart; a change is logged once.
import { Discovery, DiscoveryResult } from '../model';
import { ENGINE_DOWN } from './docker';

export class AutoDiscovery implements Discovery {
  readonly name = 'auto';
  private current: string | undefined;

  constructor(
    private readonly docker: Discovery,
    private readonly procfs: Discovery,
    private readonly onSwitch: (source: string, reason?: string) => void,
  ) {}

  async discover(signal: AbortSignal): Promise<DiscoveryResult> {
    const viaDocker = await this.docker.discover(signal);
    const down = viaDocker.errors.find((e) => e.code === ENGINE_DOWN);
    const result = down ? await this.procfs.discover(signal) : viaDocker;
    if (result.source !== this.current) {
      this.current = result.source;
      this.onSwitch(result.source, down?.message);
    }
    return result;
  }
}
