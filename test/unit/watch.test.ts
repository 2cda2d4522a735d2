// discovery.watch's shared parts: the event feed (reopens with backoff, says each change of state
// once, never retries a runtime that lacks the stream) and the rule for when a cycle lists; the
// Docker event line parser; what a CRI event changes. The real streams are tested against a real
// dockerd (docker-watch.test.ts) and containerd plus a double of a newer runtime (cri-watch.test.ts).
import { Writable } from 'stream';
import { createLogger } from '../../src/core/log';
import { EventFeed, ListGate, StreamHooks } from '../../src/discover/watch';
import { parseEvent } from '../../src/discover/docker/events';
import { PodState, applyEvent } from '../../src/discover/cri/events';
import { ContainerEvent } from '../../src/discover/cri/client';

function logger() {
  const lines: { level: number; msg: string }[] = [];
  const log = createLogger('debug', new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
  return { log, lines };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stream the test drives: every open is recorded with its hooks. */
function scripted() {
  const opens: StreamHooks<string>[] = [];
  let closed = 0;
  const open = (h: StreamHooks<string>) => {
    opens.push(h);
    return { close: () => closed++ };
  };
  return { opens, open, closed: () => closed };
}

describe('EventFeed', () => {
  it('queues events in order, reopens after a drop with growing backoff, logs once per change of state', async () => {
    const { log, lines } = logger();
    const s = scripted();
    const feed = new EventFeed('docker', s.open, log, { initialMs: 20, maxMs: 80 });
    feed.start();
    feed.start(); // idempotent
    expect(s.opens).toHaveLength(1);
    s.opens[0].opened();
    expect([feed.state, feed.generation]).toEqual(['open', 1]);
    s.opens[0].event('a');
    s.opens[0].event('b');
    expect(feed.drain()).toEqual(['a', 'b']);
    expect(feed.drain()).toEqual([]);

    s.opens[0].ended(new Error('EOF'));
    s.opens[0].event('late'); // a finished stream's leftovers are ignored
    expect(feed.state).toBe('down');
    expect(feed.drain()).toEqual([]);
    // Three failed reopen attempts: 20, 40, 80 ms apart, and still one warning.
    for (let i = 1; i <= 3; i++) {
      await waitFor(() => s.opens.length === i + 1);
      s.opens[i].ended(new Error('ECONNREFUSED'));
    }
    const t0 = Date.now();
    await waitFor(() => s.opens.length === 5);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(60); // capped at 80 ms
    s.opens[4].opened();
    expect([feed.state, feed.generation]).toEqual(['open', 2]);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [30, 'following docker events: a cycle lists only every discovery.resync_cycles cycles'],
      [40, 'docker event stream lost: listing every cycle until it is back'],
      [30, 'following docker events: a cycle lists only every discovery.resync_cycles cycles'],
    ]);
    feed.close();
    expect(s.closed()).toBe(1);
    expect(feed.state).toBe('closed');
    s.opens[4].ended(new Error('cancelled'));
    await sleep(50);
    expect(s.opens).toHaveLength(5); // closed: no reopen
  });

  it('reopen: a new stream after a failed call, the old one\'s events ignored, trusted again once open', () => {
    const s = scripted();
    const feed = new EventFeed('docker', s.open, logger().log);
    feed.start();
    s.opens[0].opened();
    feed.reopen();
    expect([s.opens.length, s.closed(), feed.state]).toEqual([2, 1, 'connecting']);
    s.opens[0].event('stale');
    s.opens[1].opened();
    s.opens[1].event('new');
    expect([feed.drain(), feed.generation]).toEqual([['new'], 2]);
    feed.close();
  });

  it('a runtime without the stream: no retry, said once, tried again only when asked', () => {
    const { log, lines } = logger();
    const s = scripted();
    const feed = new EventFeed('cri', s.open, log);
    feed.start();
    s.opens[0].ended(Object.assign(new Error('unknown method'), { code: 12 }), true);
    expect(feed.state).toBe('unsupported');
    feed.start();
    expect(s.opens).toHaveLength(1);
    feed.retryUnsupported();
    s.opens[1].ended(new Error('unknown method'), true);
    expect(s.opens).toHaveLength(2);
    expect(lines.map((l) => l.msg)).toEqual(['the cri runtime has no event stream: listing every cycle (discovery.watch has no effect)']);
    feed.close();
  });
});

describe('ListGate', () => {
  const open = (gen: number) => ({ state: 'open', generation: gen }) as unknown as EventFeed<unknown>;
  it('trusts events only under the generation open when it listed, for resync_cycles − 1 cycles', () => {
    const gate = new ListGate({ enabled: true, resyncCycles: 3 });
    expect(gate.mayTrustEvents(open(1))).toBe(false); // never listed
    gate.listing(open(1));
    expect([gate.mayTrustEvents(open(1)), gate.mayTrustEvents(open(1)), gate.mayTrustEvents(open(1))]).toEqual([true, true, false]);
    gate.listing(open(1));
    expect(gate.mayTrustEvents(open(2))).toBe(false); // reopened since the list: events may be missing
    gate.listing({ state: 'connecting', generation: 2 } as unknown as EventFeed<unknown>);
    expect(gate.mayTrustEvents(open(3))).toBe(false); // listed before the stream was open
    gate.listing(open(3));
    gate.failed();
    expect(gate.mayTrustEvents(open(3))).toBe(false);
    gate.listing(open(3));
    expect(gate.mayTrustEvents({ state: 'down', generation: 3 } as unknown as EventFeed<unknown>)).toBe(false);
  });
});

describe('Docker event lines', () => {
  it('reads the action, id and name of container events; ignores others and garbage', () => {
    const id = 'a'.repeat(64);
    const line = JSON.stringify({ status: 'rename', id, from: 'x:1', Type: 'container', Action: 'rename', Actor: { ID: id, Attributes: { name: 'new', oldName: '/old' } }, scope: 'local', time: 1, timeNano: 1 });
    expect(parseEvent(line)).toEqual({ action: 'rename', id, name: 'new' });
    expect(parseEvent(JSON.stringify({ Type: 'network', Action: 'connect', Actor: { ID: 'n' } }))).toBeUndefined();
    expect(parseEvent('{"Type":"container"')).toBeUndefined();
    expect(parseEvent('')).toBeUndefined();
  });
});

describe('CRI events applied to the known pods', () => {
  const sandbox = (id: string, state = 'SANDBOX_READY') => ({
    id, metadata: { name: `pod-${id}`, uid: `u-${id}`, namespace: 'ns', attempt: 0 }, state,
    network: null, linux: null, labels: { app: id },
  });
  const status = (id: string, state = 'CONTAINER_RUNNING') => ({ id, metadata: { name: `c-${id}`, attempt: 0 }, state, image: { image: 'img' }, image_ref: 'ref', labels: {} });
  const ev = (container_id: string, type: string, s: ReturnType<typeof sandbox> | null, cs: ReturnType<typeof status>[] = []): ContainerEvent =>
    ({ container_id, container_event_type: `CONTAINER_${type}_EVENT`, created_at: '1', pod_sandbox_status: s, containers_statuses: cs });
  const fresh = (): PodState => ({ sandboxes: new Map(), containers: new Map() });

  it('a pod starting, a container stopping, the pod stopping and being removed', () => {
    const st = fresh();
    expect(applyEvent(st, ev('p1', 'STARTED', sandbox('p1')))).toBe(true);
    expect(applyEvent(st, ev('c1', 'STARTED', sandbox('p1'), [status('c1'), status('c2', 'CONTAINER_CREATED')]))).toBe(true);
    expect([...st.sandboxes.keys()]).toEqual(['p1']);
    expect(st.sandboxes.get('p1')!.labels).toEqual({ app: 'p1' });
    expect([...st.containers.values()].map((c) => [c.id, c.pod_sandbox_id, c.metadata?.name])).toEqual([['c1', 'p1', 'c-c1']]);
    applyEvent(st, ev('c2', 'STARTED', sandbox('p1'), [status('c1'), status('c2')]));
    applyEvent(st, ev('c1', 'STOPPED', sandbox('p1'), [status('c1', 'CONTAINER_EXITED'), status('c2')]));
    expect([...st.containers.keys()]).toEqual(['c2']);
    applyEvent(st, ev('p1', 'STOPPED', sandbox('p1', 'SANDBOX_NOTREADY'), [status('c2', 'CONTAINER_EXITED')]));
    expect([st.sandboxes.size, st.containers.size]).toEqual([0, 0]);
    applyEvent(st, ev('p2', 'STARTED', sandbox('p2'), [status('c3')]));
    expect(applyEvent(st, ev('p2', 'DELETED', null))).toBe(true); // a removed sandbox has no status left
    expect([st.sandboxes.size, st.containers.size]).toEqual([0, 0]);
  });

  it('a start without the sandbox status cannot be applied: the cycle lists', () => {
    expect(applyEvent(fresh(), ev('c9', 'STARTED', null))).toBe(false);
  });
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await sleep(5);
  }
}
