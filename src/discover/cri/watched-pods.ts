// discovery.watch for the CRI: the ready sandboxes and running containers a cycle works on, from
// the two list calls or, while the event stream may be trusted (../watch.ts), from the last lists
// as the events since changed them (events.ts). An event that cannot be applied makes the cycle list.
import { Logger } from '../../core/log';
import { EventFeed, ListGate, WatchSettings } from '../watch';
import { ContainerEvent, CriClient, CriContainer, PodSandbox } from './client';
import { PodState, applyEvent, criEventStream } from './events';

export type Pods = [PodSandbox[], CriContainer[]];

export class WatchedPods {
  private readonly feed: EventFeed<ContainerEvent>;
  private readonly gate: ListGate;
  private state: PodState = { sandboxes: new Map(), containers: new Map() };

  constructor(client: CriClient, settings: WatchSettings, log: Logger) {
    this.feed = new EventFeed('cri', criEventStream(client), log);
    this.gate = new ListGate(settings);
  }

  /** `list` makes the two list calls; it is called only when the events cannot stand in for them. */
  async pods(list: () => Promise<Pods>): Promise<Pods> {
    this.feed.start();
    if (this.gate.mayTrustEvents(this.feed)) {
      let applied = true;
      for (const e of this.feed.drain()) applied = applyEvent(this.state, e) && applied;
      if (applied) return [[...this.state.sandboxes.values()], [...this.state.containers.values()]];
    }
    this.feed.drain(); // the lists show what these said
    this.gate.listing(this.feed);
    try {
      const [sandboxes, containers] = await list();
      this.state = { sandboxes: new Map(sandboxes.map((x) => [x.id, x])), containers: new Map(containers.map((x) => [x.id, x])) };
      return [sandboxes, containers];
    } catch (err) {
      this.gate.failed();
      this.feed.reopen();
      throw err;
    }
  }

  /** The runtime answers again after it was down: it may have been upgraded to one with events. */
  runtimeBack(): void {
    this.feed.retryUnsupported();
  }

  close(): void {
    this.feed.close();
  }
}
