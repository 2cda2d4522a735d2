// A counting pass-through proxy in front of the Docker engine's unix socket: it records every
// request's method and path, so a test can prove what the agent asked the engine (and how often).
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

export interface ApiProxy {
  socketPath: string;
  /** Every request, with when it arrived (Date.now()). */
  requests: { method: string; path: string; at: number }[];
  close(): Promise<void>;
}

export async function startApiProxy(engineSocket: string): Promise<ApiProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spx-'));
  const socketPath = path.join(dir, 'docker.sock');
  const requests: ApiProxy['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: (req.url ?? '').replace(/^\/v[\d.]+/, ''), at: Date.now() });
    const up = http.request({ socketPath: engineSocket, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      res.flushHeaders(); // as the engine does: a stream (/events) is answered before its first event
      r.pipe(res);
      // The engine went away mid-answer (a stream when it stops): so does the proxy's answer.
      r.on('close', () => {
        if (!r.complete) res.destroy();
      });
    });
    up.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
