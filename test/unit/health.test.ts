// /healthz and /readyz: the process answers; ready only while the last successful cycle is recent.
import * as http from 'http';
import * as net from 'net';
import { HealthServer } from '../../src/app/health';

function request(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HealthServer', () => {
  let now = 1_000_000;
  let last: number | undefined;
  const server = new HealthServer('127.0.0.1:0', { lastSuccess: () => last, maxAgeMs: 5000 }, () => now);
  let port: number;
  beforeAll(async () => {
    port = (await server.start()).port;
  });
  afterAll(() => server.close());

  it('answers /healthz at once', async () => {
    expect(await request(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
  });

  it('is not ready before a cycle has read a namespace, ready after, and stale when it stops', async () => {
    expect(await request(port, '/readyz')).toEqual({ status: 503, body: 'no cycle has read a namespace yet\n' });
    last = now - 1000;
    expect((await request(port, '/readyz')).status).toBe(200);
    now += 10_000;
    expect(await request(port, '/readyz')).toEqual({ status: 503, body: 'last successful cycle 11 s ago\n' });
  });

  it('serves nothing else', async () => {
    expect((await request(port, '/metrics')).status).toBe(404);
    expect((await request(port, '/healthz', 'POST')).status).toBe(405);
    expect(await request(port, '/healthz', 'HEAD')).toEqual({ status: 200, body: '' });
  });

  it('bounds requests: headers over 8 KiB get 431 and the connection closes', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`));
      let got = '';
      sock.on('data', (d) => (got += d));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('names the address and key when it cannot listen', async () => {
    const other = new HealthServer(`127.0.0.1:${port}`, { lastSuccess: () => undefined, maxAgeMs: 1 });
    await expect(other.start()).rejects.toThrow(`health: cannot listen on 127.0.0.1:${port} (health.listen)`);
  });
});
