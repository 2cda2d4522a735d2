// A test double of a CRI runtime that has GetContainerEvents (containerd 1.7+, CRI-O), standing on
// the real containerd 1.6 of private-containerd.ts, which answers it UNIMPLEMENTED. Every method
// sockpulse reads (Version, ListPodSandbox, ListContainers, PodSandboxStatus) is relayed to
// containerd byte for byte; GetContainerEvents is served here to upstream's contract
// (k8s.io/cri-api runtime/v1: a server stream of ContainerEventResponse, encoded with the test's
// own proto), carrying events the test has it send, made from the real runtime's state the way
// containerd 1.7 makes them: the event's container (a sandbox's own events name the sandbox), the
// sandbox's status at that time (none once it is removed) and the statuses of its containers.
// Like a Go gRPC server, the stream sends nothing — headers included — before its first event.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CriTestClient } from './private-containerd';
import { REPO_ROOT } from './env';

const TEST_PROTO = path.join(REPO_ROOT, 'test', 'fixtures', 'cri', 'runtime-test.proto');
const RELAYED = ['Version', 'ListPodSandbox', 'ListContainers', 'PodSandboxStatus'];
const same = (b: Buffer): Buffer => b;

export type EventType = 'CONTAINER_CREATED_EVENT' | 'CONTAINER_STARTED_EVENT' | 'CONTAINER_STOPPED_EVENT' | 'CONTAINER_DELETED_EVENT';

export class CriEventsDouble {
  /** Methods called, in order (the double's own view; put the recording proxy in front to see all). */
  readonly calls: string[] = [];
  private readonly streams = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  private readonly upstream: grpc.Client;
  private readonly runtime: CriTestClient;

  private constructor(readonly socketPath: string, private readonly server: grpc.Server, upstreamSocket: string) {
    this.upstream = new grpc.Client(`unix://${upstreamSocket}`, grpc.credentials.createInsecure());
    this.runtime = new CriTestClient(upstreamSocket);
  }

  static async start(upstreamSocket: string): Promise<CriEventsDouble> {
    const socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'spd-')), 'cri.sock');
    const def = protoLoader.loadSync(TEST_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const svc = def['runtime.v1.RuntimeService'] as grpc.ServiceDefinition;
    const server = new grpc.Server();
    const d = new CriEventsDouble(socketPath, server, upstreamSocket);
    const service: Record<string, grpc.MethodDefinition<unknown, unknown>> = { GetContainerEvents: svc.GetContainerEvents };
    const handlers: grpc.UntypedServiceImplementation = {
      GetContainerEvents: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        d.calls.push('GetContainerEvents');
        d.streams.add(call);
        call.on('cancelled', () => d.streams.delete(call));
        call.on('close', () => d.streams.delete(call));
      },
    };
    for (const m of RELAYED) {
      const p = `/runtime.v1.RuntimeService/${m}`;
      service[m] = { path: p, requestStream: false, responseStream: false, requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same } as grpc.MethodDefinition<unknown, unknown>;
      handlers[m] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        d.calls.push(m);
        d.upstream.makeUnaryRequest(p, same, same, call.request, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => cb(err, res));
      };
    }
    server.addService(service as grpc.ServiceDefinition, handlers);
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    return d;
  }

  /** Event streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Sends an event about `containerId` (a sandbox's own id for its events) of `sandboxId`'s pod, as the runtime sees it now. */
  async send(type: EventType, containerId: string, sandboxId: string): Promise<void> {
    let sandbox: unknown = null;
    try {
      sandbox = (await this.runtime.call('PodSandboxStatus', { pod_sandbox_id: sandboxId })).status;
    } catch (err) {
      if ((err as { code?: number }).code !== grpc.status.NOT_FOUND) throw err;
    }
    const listed = sandbox ? (await this.runtime.call('ListContainers', { filter: { pod_sandbox_id: sandboxId } })).containers : [];
    const statuses = await Promise.all(listed.map(async (c: { id: string }) => (await this.runtime.call('ContainerStatus', { container_id: c.id })).status));
    const event = { container_id: containerId, container_event_type: type, created_at: String(Date.now() * 1e6), pod_sandbox_status: sandbox, containers_statuses: statuses };
    for (const s of this.streams) s.write(event);
  }

  /** The events a runtime sends for a pod that just started: the sandbox's, then each container's. */
  async podStarted(pod: { id: string; containers: { id: string }[] }): Promise<void> {
    await this.send('CONTAINER_STARTED_EVENT', pod.id, pod.id);
    for (const c of pod.containers) await this.send('CONTAINER_STARTED_EVENT', c.id, pod.id);
  }

  /** Ends every open stream with UNAVAILABLE (a runtime restarting). */
  dropStreams(): void {
    for (const s of this.streams) s.emit('error', { code: grpc.status.UNAVAILABLE, details: 'events double: stream dropped' });
    this.streams.clear();
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.end();
    this.upstream.close();
    this.runtime.close();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.server.forceShutdown();
    fs.rmSync(path.dirname(this.socketPath), { recursive: true, force: true });
  }
}
