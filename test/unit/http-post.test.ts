// The one POST both push sinks make (Open-Falcon, OTLP), against real servers on 127.0.0.1 port 0:
// the answer and its bounded reply, a timeout, the cycle's deadline, refused and cut connections,
// whether the body had been sent when no answer came, and the shared retry rule.
import * as http from 'http';
import type { AddressInfo } from 'net';
import { REPLY_MAX, classify, describeError, httpPost, statusOutcome } from '../../src/deliver/http-post';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const servers: http.Server[] = [];
const agent = new http.Agent({ keepAlive: false });
afterAll(() => agent.destroy());
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r)))));
});

/** A server that reads the whole body (recorded), then does what `then` says. */
async function serve(then: Handler): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      bodies.push(body);
      then(req, res);
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/push`, bodies };
}
const opts = (over: Partial<Parameters<typeof httpPost>[2]> = {}) => ({ agent, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000), timeoutMs: 0, ...over });

describe('httpPost', () => {
  it('returns the status and the reply, the body sent with its length', async () => {
    const s = await serve((req, res) => res.writeHead(202).end(`got ${req.headers['content-length']} ${req.headers['content-type']}`));
    expect(await httpPost(s.url, '[1,2]', opts())).toEqual({ answered: true, status: 202, body: Buffer.from('got 5 application/json') });
    expect(await httpPost(new URL(s.url), new Uint8Array([1, 2, 3]), opts())).toMatchObject({ answered: true, status: 202 });
    expect(s.bodies[0]).toBe('[1,2]');
  });

  it(`keeps at most ${REPLY_MAX} bytes of a reply, and still reads it to the end`, async () => {
    const s = await serve((_req, res) => res.writeHead(500).end('x'.repeat(4 * REPLY_MAX)));
    const out = await httpPost(s.url, 'b', opts());
    expect(out).toMatchObject({ answered: true, status: 500 });
    expect((out as { body: Buffer }).body.length).toBe(REPLY_MAX);
  });

  it('a server that takes the body and never answers: the timeout, with the body sent', async () => {
    const s = await serve(() => undefined);
    const t0 = Date.now();
    expect(await httpPost(s.url, 'b', opts({ timeoutMs: 200 }))).toEqual({ answered: false, why: 'timeout', sent: true, error: 'no answer within the timeout (200 ms)' });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(s.bodies).toEqual(['b']);
  });

  it('the cycle\'s deadline ends it before the timeout, and an aborted signal sends nothing', async () => {
    const s = await serve(() => undefined);
    expect(await httpPost(s.url, 'b', opts({ signal: AbortSignal.timeout(150), timeoutMs: 5000 }))).toMatchObject({ answered: false, why: 'deadline', sent: true });
    const ac = new AbortController();
    ac.abort();
    expect(await httpPost(s.url, 'b', opts({ signal: ac.signal }))).toMatchObject({ answered: false, why: 'deadline', sent: false });
    expect(s.bodies).toEqual(['b']);
  });

  it('refused: a network error with its code, nothing sent', async () => {
    const s = await serve(() => undefined);
    await new Promise((r) => (servers[0].closeAllConnections(), servers[0].close(r)));
    servers.length = 0;
    const out = await httpPost(s.url, 'b', opts());
    expect(out).toMatchObject({ answered: false, why: 'network', sent: false, error: expect.stringMatching(/^ECONNREFUSED: connect ECONNREFUSED/) });
  });

  it('a connection cut in the middle of the reply: a network error', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(await httpPost(s.url, 'b', opts())).toMatchObject({ answered: false, why: 'network', sent: true });
  });
});

describe('the shared retry rule', () => {
  it.each([
    [200, 'ok'], [204, 'ok'],
    [301, 'failed'], [400, 'failed'], [401, 'failed'], [404, 'failed'], [413, 'failed'],
    [408, 'retryable'], [429, 'retryable'], [500, 'retryable'], [502, 'retryable'], [503, 'retryable'], [504, 'retryable'],
  ] as const)('HTTP %d → %s', (code, verdict) => {
    expect(classify(code)).toBe(verdict);
  });

  it('a refusal carries the status and the reply, trimmed and cut at 200 characters', () => {
    expect(statusOutcome(400, ' decode error\n')).toEqual({ status: 'failed', error: 'HTTP 400: decode error' });
    expect(statusOutcome(503, '')).toEqual({ status: 'retryable', error: 'HTTP 503' });
    expect(statusOutcome(500, 'y'.repeat(300))).toEqual({ status: 'retryable', error: `HTTP 500: ${'y'.repeat(200)}` });
  });

  it('a network error keeps its code once', () => {
    expect(describeError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
    expect(describeError(Object.assign(new Error('ETIMEDOUT: late'), { code: 'ETIMEDOUT' }))).toBe('ETIMEDOUT: late');
    expect(describeError(new Error('socket hang up'))).toBe('socket hang up');
  });
});
