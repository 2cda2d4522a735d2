// The pull backend: the last cycle on an HTTP /metrics page in Prometheus text format.
//
// - write(batch) replaces the page with exactly that batch (prometheus/registry.ts): a namespace
//   that vanished has no series on the next page; nothing goes stale. Before the first cycle the
//   page is valid and empty.
// - Only GET and HEAD, on the configured path (and a small link page on `/`); other paths 404,
//   other methods 405. Headers are bounded (8 KiB, 10 s); bodies are never read, and a request
//   that sends one has its connection closed after the answer.
// - The page is rendered when scraped: gzipped once per cycle, a piece at a time, and kept for
//   the next scrapes (Prometheus asks for gzip); a request without gzip gets it rendered anew.
//   Only the gzipped bytes are kept (~0.3 MB at 1000 namespaces, against ~3.7 MB of text).
// - Self-metrics: `sent` counts series served to scrapers and `last_success` is the time of the
//   last scrape served (is anyone scraping?); points left out as duplicates are dropped, by reason
//   `duplicate`.
import { listenOn } from '../../core/listen';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { Batch, Sink, SinkResult } from '../../core/model';
import { countDrop } from '../../core/self-stats';
import { SinkContext } from '../plugin';
import { PrometheusConfig } from './settings';
import { batchPoints } from '../points';
import { Exposition, buildExposition, copyLabelNames, emptyExposition } from './registry';

interface Page extends Exposition {
  gzipped?: Promise<Buffer>;
}

export class PrometheusSink implements Sink {
  readonly name = 'prometheus';
  private readonly copyNames: ReadonlyMap<string, string>;
  private server: http.Server | undefined;
  private page: Page = emptyExposition();
  private closed = false;

  constructor(private readonly cfg: PrometheusConfig, private readonly ctx: SinkContext) {
    this.copyNames = copyLabelNames(ctx.copyLabels, ctx.catalog);
  }

  /** The bound address once started (the real port when `listen` asked for port 0). */
  address(): AddressInfo | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('prometheus sink already started');
    const server = http.createServer({ maxHeaderSize: 8192, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) =>
      this.handle(req, res),
    );
    await listenOn(server, this.cfg.address, this.cfg.listen, 'sinks.prometheus.listen', 'prometheus');
    server.removeAllListeners('error');
    server.on('error', (err) => this.ctx.log.error({ err }, 'metrics server error'));
    this.server = server;
    const a = this.address();
    this.ctx.log.info({ address: a?.address, port: a?.port, path: this.cfg.path }, 'serving Prometheus metrics');
  }

  async write(batch: Batch): Promise<SinkResult> {
    if (this.closed) return { status: 'failed', error: 'write after close' };
    const page = buildExposition(batchPoints(batch), this.copyNames, this.ctx.catalog);
    if (page.duplicates > 0) countDrop(this.ctx.counters, 'duplicate', page.duplicates);
    this.page = page;
    return { status: 'ok', sent: page.series };
  }

  async close(): Promise<void> {
    this.closed = true;
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref(); // a scrape still running
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) {
      res.setHeader('Connection', 'close'); // the body is never read
    }
    const path = (req.url ?? '').split('?')[0];
    const known = path === this.cfg.path || path === '/';
    if (!known) return reply(res, 404, 'text/plain; charset=utf-8', `not found; metrics are at ${this.cfg.path}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    if (path !== this.cfg.path) return reply(res, 200, 'text/html; charset=utf-8', linkPage(this.cfg.path));
    this.serve(req, res).catch((err: unknown) => {
      this.ctx.log.error({ err }, 'could not render the metrics page');
      if (!res.headersSent) reply(res, 500, 'text/plain; charset=utf-8', 'could not render metrics\n');
      else res.destroy();
    });
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const page = this.page; // a write during this scrape does not change what it serves
    const zip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = zip ? await (page.gzipped ??= gzipChunks(page.registry.chunks())) : page.registry.render();
    res.setHeader('Vary', 'Accept-Encoding');
    if (zip) res.setHeader('Content-Encoding', 'gzip');
    if (req.method === 'GET') {
      res.once('finish', () => {
        this.ctx.counters.sent += page.series;
        this.ctx.counters.last_success = Math.floor(Date.now() / 1000);
      });
    }
    reply(res, 200, page.registry.contentType, body);
  }
}

/** Gzips the pieces one at a time (off the event loop), so the page's text is never whole in memory. */
async function gzipChunks(chunks: Iterable<Buffer>): Promise<Buffer> {
  const gz = createGzip({ windowBits: 12, memLevel: 5 }); // ~40 KB of zlib state, not ~270 KB; lines repeat within 4 KiB
  const out: Buffer[] = [];
  gz.on('data', (b: Buffer) => out.push(b));
  const ended = once(gz, 'end'); // rejects on 'error'
  ended.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  for (const c of chunks) if (!gz.write(c)) await Promise.race([once(gz, 'drain'), ended]);
  gz.end();
  await ended;
  return Buffer.concat(out);
}

function reply(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function linkPage(path: string): string {
  const href = path.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>\n<html><head><title>sockpulse</title></head><body><h1>sockpulse</h1><p><a href="${href}">Metrics</a></p></body></html>\n`;
}
