// docker.host's grammar: what the Docker client (docker/client.ts) can connect to. Checked when the
// configuration is loaded (config/schema.ts), in the modes that use Docker, so a malformed value
// stops the agent with exit code 2 instead of costing every cycle its targets; a well-formed
// endpoint where no engine answers is not an error here (auto falls back, docker reports
// EDOCKERDOWN). Pure but for the TLS files' existence: no connection is made. Errors show the
// value redacted (it may carry credentials).
import * as fs from 'fs';
import * as path from 'path';
import { redactUrl } from '../../core/secrets';

export type DockerEndpoint = { socketPath: string } | { host: string; port: number; https: boolean };

export interface DockerHostSettings {
  host: string;
  tls_verify: boolean;
  cert_path: string;
}

const FORMS = 'unix:///path, /path or tcp://host:port';

/** unix:///path or /path (a socket); tcp://, http:// or https:// host:port with no user, password or path. */
export function parseDockerHost(text: string): DockerEndpoint {
  const bad = (why: string): Error => new Error(`docker.host: "${redactUrl(text)}" ${why}`);
  if (text.startsWith('unix://') || text.startsWith('/')) {
    const socketPath = text.replace(/^unix:\/\//, '');
    if (socketPath === '') throw bad(`names no socket (use ${FORMS})`);
    return { socketPath };
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1].toLowerCase();
  if (scheme === undefined || !['tcp', 'http', 'https'].includes(scheme)) throw bad(`is not one of ${FORMS}`);
  const authority = text.slice(scheme.length + 3).replace(/\/$/, '');
  if (authority.includes('@')) throw bad('holds a user or password, which the Docker client cannot send; use tcp://host:port');
  const m = /^([^:/[\]]+|\[[^\]]+\]):(\d{1,5})$/.exec(authority);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw bad(`is not ${scheme}://host:port with a port between 1 and 65535`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port, https: scheme === 'https' };
}

/** The client certificate files under docker.cert_path. */
export function certFiles(certPath: string): { ca: string; cert: string; key: string } {
  return { ca: path.join(certPath, 'ca.pem'), cert: path.join(certPath, 'cert.pem'), key: path.join(certPath, 'key.pem') };
}

/** The endpoint, and whether it is reached over TLS (docker.tls_verify or https://). */
export function dockerEndpoint(d: DockerHostSettings): { endpoint: DockerEndpoint; tls: boolean } {
  const endpoint = parseDockerHost(d.host);
  return { endpoint, tls: !('socketPath' in endpoint) && (d.tls_verify || endpoint.https) };
}

/**
 * The endpoint, parsed once; throws naming the key: a malformed docker.host, or TLS without
 * readable certificate files.
 */
export function checkDockerSettings(d: DockerHostSettings): { endpoint: DockerEndpoint; tls: boolean } {
  const parsed = dockerEndpoint(d);
  if (!parsed.tls) return parsed;
  for (const file of Object.values(certFiles(d.cert_path))) {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (err) {
      throw new Error(`docker.cert_path: TLS to the engine needs ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return parsed;
}
