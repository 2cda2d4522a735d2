// Builds the dockerode client from configuration, the way the docker CLI reads DOCKER_HOST,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. One keep-alive agent: a cycle makes one list call and
// a few inspects, at most inspect_concurrency at once, so it keeps that many connections plus one
// for the list call.
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import Docker from 'dockerode';
import { certFiles, dockerEndpoint } from './host';

export interface DockerConfig {
  host: string;
  tls_verify: boolean;
  cert_path: string;
  timeout: number; // seconds
  inspect_concurrency: number;
}

/** Throws only on what checkDockerSettings() rejects at load, or on certificate files unreadable since. */
export function dockerClient(cfg: DockerConfig): Docker {
  const timeout = cfg.timeout * 1000;
  const { endpoint, tls } = dockerEndpoint(cfg);
  const maxSockets = cfg.inspect_concurrency + 1;
  if ('socketPath' in endpoint) {
    return new Docker({ socketPath: endpoint.socketPath, timeout, agent: new http.Agent({ keepAlive: true, maxSockets }) } as unknown as Docker.DockerOptions);
  }
  const files = certFiles(cfg.cert_path);
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
