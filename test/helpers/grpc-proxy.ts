// A recording pass-through proxy for gRPC over a unix socket, at the HTTP/2 level: every stream's
// :path (`/runtime.v1.RuntimeService/ListPodSandbox`) is recorded before it is forwarded, so a test
// sees every method called — also ones the proxy itself knows nothing of. Headers, messages and
// trailers are relayed unchanged.
import * as fs from 'fs';
import * as http2 from 'http2';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export interface GrpcProxy {
  socketPath: string;
  /** Method names (the last part of :path), in call order. */
  calls: string[];
  /** Awaited before a call is forwarded (to make a race happen at that point). */
  before?: (method: string) => Promise<void>;
  close(): Promise<void>;
}

export async function startGrpcProxy(upstreamSocket: string): Promise<GrpcProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spg-'));
  const socketPath = path.join(dir, 'cri.sock');
  const calls: string[] = [];
  let upstream: http2.ClientHttp2Session | undefined;
  const session = (): http2.ClientHttp2Session => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = http2.connect('http://localhost', { createConnection: () => net.connect(upstreamSocket) });
      upstream.on('error', () => undefined);
    }
    return upstream;
  };
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const proxy: GrpcProxy = { socketPath, calls, close: async () => undefined };
  server.on('stream', (down, headers) => {
    const p = String(headers[':path'] ?? '');
    const method = p.slice(p.lastIndexOf('/') + 1);
    calls.push(method);
    const hook = proxy.before;
    if (hook) {
      down.pause();
      void hook(method).finally(() => {
        forward(down, headers);
        down.resume();
      });
    } else forward(down, headers);
  });
  const forward = (down: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
    const fwd: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':') || k === ':path' || k === ':method') fwd[k] = v;
    let up: http2.ClientHttp2Stream;
    try {
      up = session().request(fwd);
    } catch {
      down.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'proxy: upstream unreachable' }, { endStream: true });
      return;
    }
    let trailers: http2.IncomingHttpHeaders = {};
    up.on('response', (h, flags) => {
      if (down.destroyed) return;
      const out: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') || k === ':status') out[k] = v;
      // A trailers-only answer (an error) ends the stream with its headers.
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) down.respond(out, { endStream: true });
      else down.respond(out, { waitForTrailers: true });
    });
    up.on('trailers', (t) => (trailers = t));
    down.on('wantTrailers', () => {
      const out: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(trailers)) if (!k.startsWith(':')) out[k] = v;
      down.sendTrailers(out);
    });
    up.on('data', (chunk: Buffer) => {
      if (!down.destroyed) down.write(chunk);
    });
    up.on('end', () => {
      if (down.destroyed) return; // the client went first (a cancelled stream)
      if (!down.headersSent) down.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' }, { endStream: true });
      else if (!down.writableEnded) down.end();
    });
    up.on('error', () => {
      if (down.destroyed) return;
      if (!down.headersSent) down.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'proxy: upstream error' }, { endStream: true });
      else down.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    down.on('data', (chunk: Buffer) => up.write(chunk));
    down.on('end', () => up.end());
    down.on('error', () => up.close(http2.constants.NGHTTP2_CANCEL));
    down.on('close', () => {
      if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
    });
  };
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  proxy.close = () =>
      new Promise<void>((resolve) => {
        upstream?.close();
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        // Open sessions (the client under test) would hold close() open.
        for (const s of sessions) s.destroy();
      });
  return proxy;
}
