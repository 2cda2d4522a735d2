// A CRI RuntimeService client (grpc-js over a unix socket) limited to the read-only calls of
// api.proto. Every call has a deadline (cri.timeout) and follows the cycle's abort signal, but for
// the event stream, which lasts until it is cancelled.
// Messages are decoded with upstream's field names (keepCase), enums as their names, 64-bit
// integers as strings, and every field present with its default.
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The kubelet's limit; grpc-js alone would refuse answers over 4 MiB (a busy node's lists). */
export const MAX_RECEIVE_BYTES = 16 * 1024 * 1024;

/** api.proto sits next to this module in src/ (jest) and in dist/src/ (the build copies it). */
export const PROTO_FILE = path.join(__dirname, 'api.proto');

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: string;
  labels: Record<string, string>;
}

export interface CriContainer {
  id: string;
  pod_sandbox_id: string;
  metadata: { name: string; attempt: number } | null;
  image: { image: string } | null;
  image_ref: string;
  state: string;
  labels: Record<string, string>;
}

export interface PodSandboxStatusResponse {
  status: {
    id: string;
    metadata: PodSandboxMetadata | null;
    state: string;
    network: { ip: string; additional_ips: { ip: string }[] } | null;
    linux: { namespaces: { options: { network: string } | null } | null } | null;
    labels: Record<string, string>;
  } | null;
  /** With verbose: runtime-specific JSON strings; containerd and CRI-O put theirs under `info`. */
  info: Record<string, string>;
}

export interface CriContainerStatus {
  id: string;
  metadata: { name: string; attempt: number } | null;
  state: string;
  image: { image: string } | null;
  image_ref: string;
  labels: Record<string, string>;
}

/** One item of GetContainerEvents: the event's container (or sandbox) and its pod as it is now. */
export interface ContainerEvent {
  container_id: string;
  container_event_type: string;
  created_at: string;
  /** Null when the sandbox is already gone (removed). */
  pod_sandbox_status: PodSandboxStatusResponse['status'];
  containers_statuses: CriContainerStatus[];
}

export interface VersionResponse {
  version: string;
  runtime_name: string;
  runtime_version: string;
  runtime_api_version: string;
}

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<Res>) => grpc.ClientUnaryCall;

interface RuntimeServiceStub extends grpc.Client {
  Version: Unary<object, VersionResponse>;
  ListPodSandbox: Unary<object, { items: PodSandbox[] }>;
  PodSandboxStatus: Unary<object, PodSandboxStatusResponse>;
  ListContainers: Unary<object, { containers: CriContainer[] }>;
  GetContainerEvents: (req: object, meta: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<ContainerEvent>;
}

let definition: grpc.GrpcObject | undefined;

function runtimeService(): grpc.ServiceClientConstructor {
  definition ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(PROTO_FILE, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }),
  );
  const v1 = (definition.runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return v1.RuntimeService as grpc.ServiceClientConstructor;
}

export class CriClient {
  private readonly stub: RuntimeServiceStub;

  constructor(readonly socketPath: string, private readonly timeoutMs: number) {
    const Service = runtimeService();
    this.stub = new Service(`unix://${socketPath}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      // A runtime restarted is found again within seconds, not after grpc's default 2 min backoff.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5000,
    }) as unknown as RuntimeServiceStub;
  }

  version(signal?: AbortSignal): Promise<VersionResponse> {
    return this.call(this.stub.Version, { version: 'v1' }, signal);
  }

  /** Ready sandboxes only: the runtime filters. */
  async listReadySandboxes(signal?: AbortSignal): Promise<PodSandbox[]> {
    return (await this.call(this.stub.ListPodSandbox, { filter: { state: { state: 'SANDBOX_READY' } } }, signal)).items;
  }

  async listRunningContainers(signal?: AbortSignal): Promise<CriContainer[]> {
    return (await this.call(this.stub.ListContainers, { filter: { state: { state: 'CONTAINER_RUNNING' } } }, signal)).containers;
  }

  sandboxStatus(id: string, signal?: AbortSignal): Promise<PodSandboxStatusResponse> {
    return this.call(this.stub.PodSandboxStatus, { pod_sandbox_id: id, verbose: true }, signal);
  }

  /** The runtime's container events until cancelled (no deadline); UNIMPLEMENTED where the runtime has none. */
  containerEvents(): grpc.ClientReadableStream<ContainerEvent> {
    return this.stub.GetContainerEvents({}, new grpc.Metadata(), {});
  }

  close(): void {
    this.stub.close();
  }

  private call<Req extends object, Res>(method: Unary<Req, Res>, req: Req, signal?: AbortSignal): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      const call = method.call(this.stub, req, new grpc.Metadata(), { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        signal?.removeEventListener('abort', cancel);
        if (err) reject(err);
        else resolve(res);
      });
      const cancel = (): void => call.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }
}

/** grpc's status code NOT_FOUND: the sandbox was removed between the list and the status call. */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === grpc.status.NOT_FOUND;
}

/** grpc's status code UNIMPLEMENTED: the runtime does not have the method (containerd 1.6 and GetContainerEvents). */
export function isUnimplemented(err: unknown): boolean {
  return (err as { code?: number }).code === grpc.status.UNIMPLEMENTED;
}

/** grpc's status code DEADLINE_EXCEEDED. */
export function isDeadline(err: unknown): boolean {
  return (err as { code?: number }).code === grpc.status.DEADLINE_EXCEEDED;
}
