// Builds the dockerode client from configuration, the way the docker CLI reads DOCKER_HOST,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. One keep-alive agent: a cycle makes one list call and
// a few inspects, all over the same connection.
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import Docker from 'dockerode';
import { redactUrl } from '../config/secrets';

export interface DockerConfig {
  host: string;
  tls_verify: boolean;
  cert_path: string;
  timeout: number; // seconds
}

export function dockerClient(cfg: DockerConfig): Docker {
  const url = cfg.host;
  const timeout = cfg.timeout * 1000;
  if (url.startsWith('unix://') || url.startsWith('/')) {
    const socketPath = url.replace(/^unix:\/\//, '');
    return new Docker({ socketPath, timeout, agent: new http.Agent({ keepAlive: true, maxSockets: 8 }) } as unknown as Docker.DockerOptions);
  }
  const m = /^(tcp|http|https):\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(url);
  if (!m) throw new Error(`docker.host: "${redactUrl(url)}" is not unix:///path or tcp://host:port`);
  const tls = cfg.tls_verify || m[1] === 'https';
  const certs = tls
    ? {
        ca: fs.readFileSync(path.join(cfg.cert_path, 'ca.pem')),
        cert: fs.readFileSync(path.join(cfg.cert_path, 'cert.pem')),
        key: fs.readFileSync(path.join(cfg.cert_path, 'key.pem')),
      }
    : {};
  const agent = tls ? new https.Agent({ keepAlive: true, maxSockets: 8, ...certs }) : new http.Agent({ keepAlive: true, maxSockets: 8 });
  return new Docker({
    protocol: tls ? 'https' : 'http',
    host: m[2].replace(/^\[|\]$/g, ''),
    port: Number(m[3]),
    timeout,
    agent,
    ...certs,
  } as unknown as Docker.DockerOptions);
}
