// /healthz and /readyz for Kubernetes probes and monitors (daemon mode, `health.listen`).
//   /healthz  200 while the process answers (the event loop is alive).
//   /readyz   200 once a cycle has read at least one namespace, and only while the last such cycle
//             is recent (within two intervals plus the cycle deadline); 503 with the reason otherwise.
// GET/HEAD only, nothing else; bodies are short text.
import * as http from 'http';
import { AddressInfo } from 'net';
import { listenOn, parseListen } from '../core/listen';

export interface Readiness {
  /** Unix ms of the end of the last cycle that read at least one namespace. */
  lastSuccess(): number | undefined;
  /** How old that may be and still count as ready, in ms. */
  maxAgeMs: number;
}

export class HealthServer {
  private server: http.Server | undefined;

  constructor(
    readonly listen: string,
    /** Replaced on a reload (a new schedule's window), while the server stays up. */
    public ready: Readiness,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<AddressInfo> {
    const server = http.createServer({ maxHeaderSize: 8192, headersTimeout: 5000, requestTimeout: 10_000 }, (req, res) => this.handle(req, res));
    const addr = await listenOn(server, parseListen(this.listen, 'health.listen'), this.listen, 'health.listen', 'health');
    this.server = server;
    return addr;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    if (path === '/healthz') return reply(res, 200, 'ok\n');
    if (path === '/readyz') {
      const last = this.ready.lastSuccess();
      if (last === undefined) return reply(res, 503, 'no cycle has read a namespace yet\n');
      const age = this.now() - last;
      if (age > this.ready.maxAgeMs) return reply(res, 503, `last successful cycle ${Math.round(age / 1000)} s ago\n`);
      return reply(res, 200, 'ready\n');
    }
    reply(res, 404, 'not found: /healthz, /readyz\n');
  }
}

function reply(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
