// The Docker engine's event stream (`GET /events`, filtered by the engine to the container
// events discovery needs), as a stream for the shared feed (../watch.ts). The engine answers the
// request at once and then writes one JSON object per line for each event; it has no end of its
// own: the stream ends when the engine stops or the connection drops. The request goes through a
// client without docker.timeout (an idle stream is not a slow answer).
import Docker from 'dockerode';
import { OpenStream } from '../watch';

/** The actions that change what a cycle finds: a process appears or goes, a name changes. */
export const DOCKER_EVENT_ACTIONS = ['start', 'die', 'destroy', 'rename'] as const;

export interface DockerEvent {
  action: string;
  id: string;
  /** The container's name after the event (rename: the new one). */
  name?: string;
}

export function dockerEventStream(docker: Docker): OpenStream<DockerEvent> {
  return (hooks) => {
    const abort = new AbortController();
    let stream: NodeJS.ReadableStream & { destroy?(): void } | undefined;
    const filters = { type: ['container'], event: [...DOCKER_EVENT_ACTIONS] };
    docker.getEvents({ filters, abortSignal: abort.signal } as Docker.GetEventsOptions).then(
      (s) => {
        stream = s as typeof stream;
        hooks.opened();
        let rest = '';
        s.on('data', (chunk: Buffer) => {
          rest += chunk.toString('utf8');
          let i;
          while ((i = rest.indexOf('\n')) >= 0) {
            const e = parseEvent(rest.slice(0, i));
            rest = rest.slice(i + 1);
            if (e) hooks.event(e);
          }
        });
        s.on('end', () => hooks.ended(new Error('the engine closed the event stream')));
        s.on('close', () => hooks.ended(new Error('the event stream closed')));
        s.on('error', (err) => hooks.ended(err));
      },
      (err) => hooks.ended(err),
    );
    return {
      close: () => {
        abort.abort();
        stream?.destroy?.();
      },
    };
  };
}

/** One line of the stream; undefined for what is not a container event (blank, malformed). */
export function parseEvent(line: string): DockerEvent | undefined {
  if (line.trim() === '') return undefined;
  try {
    const o = JSON.parse(line) as { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    const id = o.Actor?.ID;
    if (o.Type !== 'container' || !o.Action || !id) return undefined;
    return { action: o.Action, id, name: o.Actor?.Attributes?.name };
  } catch {
    return undefined;
  }
}
