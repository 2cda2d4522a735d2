// `host:port` listen addresses for the agent's HTTP listeners (Prometheus endpoint, health).
// Loopback is the default everywhere; `:port` means every interface.
import * as http from 'http';
import { AddressInfo } from 'net';

export interface Listen {
  host: string | undefined;
  port: number;
}

/** Parses host:port, [v6]:port or :port; throws naming the configuration key. */
export function parseListen(listen: string, key = 'listen'): Listen {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new Error(`${key ? `${key}: ` : ''}"${listen}" is not host:port (e.g. 127.0.0.1:9477, [::1]:9477, :9477 for every interface)`);
  }
  return { host: m[1] ?? (m[2] || undefined), port };
}

/** Starts `server` on the parsed address; a failure (port in use) names the address as configured and the key. */
export function listenOn(server: http.Server, { host, port }: Listen, listen: string, key: string, what: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const e = new Error(`${what}: cannot listen on ${listen} (${key}): ${err.message}`, { cause: err });
      reject(Object.assign(e, { code: err.code ?? 'ELISTEN' }));
    });
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}
