// The CRI's container event stream (RuntimeService.GetContainerEvents, containerd 1.7+, CRI-O) as
// a stream for the shared feed (../watch.ts), and what an event changes in the pods a cycle knows.
//
// Each event names a container — or a pod sandbox, whose events carry the sandbox's own id — and
// carries its pod as the runtime sees it then: the sandbox's status (null once the sandbox is
// removed) and the statuses of the pod's containers. A runtime without the method answers
// UNIMPLEMENTED (containerd 1.6): no retry, the cycles list as without watch.
//
// A server-streaming call gets no answer before its first event (the runtime sends no headers
// until then), so the stream counts as open once it has lasted OPEN_AFTER_MS without failing.
import { CriClient, ContainerEvent, CriContainer, PodSandbox, isUnimplemented } from './client';
import { OpenStream } from '../watch';

const OPEN_AFTER_MS = 1000;

export function criEventStream(client: CriClient): OpenStream<ContainerEvent> {
  return (hooks) => {
    const call = client.containerEvents();
    const opened = (): void => {
      clearTimeout(timer);
      hooks.opened();
    };
    const timer = setTimeout(opened, OPEN_AFTER_MS);
    timer.unref();
    call.on('metadata', opened);
    call.on('data', (e: ContainerEvent) => {
      opened();
      hooks.event(e);
    });
    const end = (err: unknown): void => {
      clearTimeout(timer);
      hooks.ended(err, isUnimplemented(err));
    };
    call.on('error', end);
    call.on('status', (s: { code: number; details: string }) => end(s.code === 0 ? new Error('the runtime ended the event stream') : s));
    return {
      close: () => {
        clearTimeout(timer);
        call.cancel();
      },
    };
  };
}

/** The pods (ready sandboxes) and their running containers, as the last list left them. */
export interface PodState {
  sandboxes: Map<string, PodSandbox>;
  containers: Map<string, CriContainer>;
}

/**
 * Applies one event. False when the event cannot be applied (a sandbox's status missing from an
 * event that is not its removal): the next cycle must list.
 */
export function applyEvent(state: PodState, e: ContainerEvent): boolean {
  const s = e.pod_sandbox_status;
  const gone = e.container_event_type === 'CONTAINER_STOPPED_EVENT' || e.container_event_type === 'CONTAINER_DELETED_EVENT';
  if (s === null) {
    if (!gone) return false;
    // The sandbox (or one container) is removed: it and whatever ran in it go.
    state.sandboxes.delete(e.container_id);
    state.containers.delete(e.container_id);
    for (const [id, c] of state.containers) if (c.pod_sandbox_id === e.container_id) state.containers.delete(id);
    return true;
  }
  if (s.state !== 'SANDBOX_READY') {
    state.sandboxes.delete(s.id);
    for (const [id, c] of state.containers) if (c.pod_sandbox_id === s.id) state.containers.delete(id);
    return true;
  }
  state.sandboxes.set(s.id, { id: s.id, metadata: s.metadata, state: s.state, labels: s.labels });
  for (const c of e.containers_statuses) {
    if (c.state === 'CONTAINER_RUNNING') {
      state.containers.set(c.id, { id: c.id, pod_sandbox_id: s.id, metadata: c.metadata, image: c.image, image_ref: c.image_ref, state: c.state, labels: c.labels });
    } else state.containers.delete(c.id);
  }
  if (gone && e.container_id !== s.id) state.containers.delete(e.container_id);
  return true;
}
