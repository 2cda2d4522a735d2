// The resolved settings the CRI plugin (plugin.ts) hands to what it builds.

/** Where users' CRI sockets usually are, tried in this order when no endpoint is configured. */
export const DEFAULT_SOCKETS: readonly string[] = [
  '/run/containerd/containerd.sock',
  '/run/crio/crio.sock',
  '/run/k3s/containerd/containerd.sock',
  '/var/run/cri-dockerd.sock',
];

export interface CriConfig {
  /** The configured socket path, or the candidates tried in order (the first that exists wins). */
  sockets: readonly string[];
  /** True when set by cri.endpoint / CONTAINER_RUNTIME_ENDPOINT, not the default list. */
  configured: boolean;
  timeoutMs: number;
  statusConcurrency: number;
}

/** `unix:///path` or `/path` → the socket path; anything else throws (naming the key). */
export function parseCriEndpoint(endpoint: string): string {
  const path = endpoint.startsWith('unix://') ? endpoint.slice('unix://'.length) : endpoint;
  if (!path.startsWith('/')) {
    throw new Error(`cri.endpoint: ${JSON.stringify(endpoint)} is not a unix socket (unix:///path or /path)`);
  }
  return path;
}
