// The push sinks never log or report a secret, even when the backend quotes it back. Each sink
// sends a real batch (fixture proc tree) to a local backend that answers with everything it was
// sent (request line, headers, Basic credentials decoded) — as an error, as a 2xx the sink has to
// read (a transfer's reply, an OTLP partial success) — and to a port where nothing listens.
import * as http from 'http';
import { PassThrough } from 'stream';
import { resolveSection, sinkContext } from '../helpers/sinks';
import { falcon as falconPlugin } from '../../src/deliver/falcon/plugin';
import { otlp as otlpPlugin } from '../../src/deliver/otlp/plugin';
import { Logger, createLogger } from '../../src/core/log';
import { Sink } from '../../src/core/model';
import { SelfStats } from '../../src/core/self-stats';
import { FalconSink } from '../../src/deliver/falcon/sink';
import { OtlpSink } from '../../src/deliver/otlp/sink';
import { fixturePipeline } from '../helpers/pipeline';

const FALCON = ['fa1conUser', 'fa1conPass', 'fa1conQueryTok'];
const OTLP = ['otlpUser9', 'otlpPass9', 'otlpQueryTok', 'hdrSecretMetrics', 'hdrSecretGeneric'];

type Reply = (echo: string) => { status: number; body: string };
/** A sink's factory, given the backend's port. */
type Make = (port: number) => (log: Logger, stats: SelfStats) => Sink;

/** A backend answering every request with `reply(everything it was sent)`; resolves to its port. */
function echoBackend(reply: Reply): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = http.createServer((req, res) => {
    req.resume().on('end', () => {
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const echo = `${req.method} ${req.url} ${JSON.stringify(req.headers)} ${basic ? Buffer.from(basic, 'base64').toString() : ''}`;
      const { status, body } = reply(echo);
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  });
  return new Promise((resolve) =>
    srv.listen(0, '127.0.0.1', () => resolve({ port: (srv.address() as { port: number }).port, close: () => new Promise((r) => srv.close(() => r())) })),
  );
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const b = await echoBackend(() => ({ status: 200, body: '' }));
  await b.close();
  return b.port;
}

/** One cycle through `make(log)`'s sink and its close; everything logged and reported, as text. */
async function deliver(make: ReturnType<Make>): Promise<string> {
  let text = '';
  const log = createLogger('debug', new PassThrough().on('data', (d: Buffer) => (text += d.toString())));
  const stats = new SelfStats();
  const sink = make(log, stats);
  await sink.start();
  const { deliveries } = await fixturePipeline({ sinks: [sink], stats, log }).runCycle(new Date());
  await sink.close();
  return `${text}\n${JSON.stringify(deliveries)}`;
}

function expectNoSecret(text: string, secrets: string[], shown: string[]): void {
  for (const s of secrets) expect(text).not.toContain(s);
  for (const s of shown) expect(text).toContain(s); // the test saw the paths that could leak
}

const falconUrl = (port: number) => `http://${FALCON[0]}:${FALCON[1]}@127.0.0.1:${port}/api/push?token=${FALCON[2]}`;
const falconCfg = (url: string) => ({
  enabled: true, url, endpoint: '{host}', prefix: 'sockpulse', timeout: 1, batch_size: 500,
  buffer_bytes: 8 << 20, buffer_points: 0, attempts: 1, backoff_initial: 0, backoff_max: 0,
});
const falcon: Make = (port) => (log, stats) =>
  new FalconSink(resolveSection(falconPlugin, falconCfg(falconUrl(port))), sinkContext('falcon', { log, stats }));

const otlpCfg = (port: number) => ({
  enabled: true, endpoint: `http://${OTLP[0]}:${OTLP[1]}@127.0.0.1:${port}/v1/metrics?api_key=${OTLP[2]}`, protocol: 'http/json',
  headers: `x-api-key=${OTLP[3]}`, timeout: 1, buffer_bytes: 8 << 20, buffer_points: 0, attempts: 1, backoff_initial: 0, backoff_max: 0,
});
const otlp: Make = (port) => (log, stats) =>
  new OtlpSink(resolveSection(otlpPlugin, otlpCfg(port)), sinkContext('otlp', { log, stats }));

describe('push sinks keep secrets out of logs and results', () => {
  const saved = process.env.OTEL_EXPORTER_OTLP_HEADERS;
  beforeAll(() => {
    process.env.OTEL_EXPORTER_OTLP_HEADERS = `authorization=Bearer%20${OTLP[4]}`; // read by the OTLP sink
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
    else process.env.OTEL_EXPORTER_OTLP_HEADERS = saved;
  });

  const partial = (echo: string) => JSON.stringify({ partialSuccess: { rejectedDataPoints: 1, errorMessage: echo } });
  it.each<[string, string, Make, string[], string, Reply, string]>([
    ['Open-Falcon', 'a 401 quoting the request', falcon, FALCON, '/api/push', (echo) => ({ status: 401, body: `denied: ${echo}` }), 'HTTP 401: denied: POST /api/push?token=***'],
    ['Open-Falcon', 'a transfer reply without data.Invalid', falcon, FALCON, '/api/push', (echo) => ({ status: 200, body: `{"msg":"${echo.replace(/"/g, "'")}"}` }), 'no data.Invalid'],
    ['OTLP', 'a 403 quoting the request', otlp, OTLP, '/v1/metrics', (echo) => ({ status: 403, body: echo }), 'HTTP 403: POST /v1/metrics?api_key=***'],
    ['OTLP', 'a partial success quoting it', otlp, OTLP, '/v1/metrics', (echo) => ({ status: 200, body: partial(echo) }), 'OTLP backend rejected points: POST'],
  ])('%s, backend answering %s', async (_, __, make, secrets, urlPath, reply, shown) => {
    const b = await echoBackend(reply);
    try {
      expectNoSecret(await deliver(make(b.port)), secrets, [`127.0.0.1:${b.port}${urlPath}`, shown]);
    } finally {
      await b.close();
    }
  });

  it('both, backend down', async () => {
    const port = await closedPort();
    expectNoSecret(await deliver(falcon(port)), FALCON, [`127.0.0.1:${port}/api/push?token=***`, 'ECONNREFUSED']);
    expectNoSecret(await deliver(otlp(port)), OTLP, [`127.0.0.1:${port}/v1/metrics?api_key=***`, 'ECONNREFUSED']);
  });

  it('a bad URL: the error names the key and shows the URL redacted', () => {
    const bad = `http://${FALCON[0]}:${FALCON[1]}/x@h:bad/?t=${FALCON[2]}`;
    expect(() => resolveSection(falconPlugin, falconCfg(bad))).toThrow('sinks.falcon.url: "http://***@h:bad/?***" is not a URL');
    expect(() => resolveSection(otlpPlugin, { ...otlpCfg(1), endpoint: `ftp://${OTLP[0]}:${OTLP[1]}@h/?k=${OTLP[2]}` })).toThrow(
      'sinks.otlp.endpoint: "ftp://***:***@h/?k=***" must be http:// or https://',
    );
  });
});
