// Builds the dockerode client from configuration, the way the docker CLI reads DOCKER_HOST,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. One keep-alive agent: a cycle makes one list call and
// a few inspects, all over the same connection.
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import Docker from 'dockerode';
import { certFiles } from './host';
import { DockerConfig } from './settings';

/** Throws only on certificate files that became unreadable since the configuration was checked. */
export function dockerClient(cfg: DockerConfig): Docker {
  const timeout = cfg.timeoutMs;
  const { endpoint, tls } = cfg;
  // One socket per concurrent inspect, and one for the list call.
  const maxSockets = cfg.inspectConcurrency + 1;
  if ('socketPath' in endpoint) {
    return new Docker({ socketPath: endpoint.socketPath, timeout, agent: new http.Agent({ keepAlive: true, maxSockets }) } as unknown as Docker.DockerOptions);
  }
  const files = certFiles(cfg.certPath);
  const certs = tls ? { ca: fs.readFileSync(files.ca), cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) } : {};
  const agent = tls ? new https.Agent({ keepAlive: true, maxSockets, ...certs }) : new http.Agent({ keepAlive: true, maxSockets });
  return new Docker({
    protocol: tls ? 'https' : 'http',
    host: endpoint.host,
    port: endpoint.port,
    timeout,
    agent,
    ...certs,
  } as unknown as Docker.DockerOptions);
}
