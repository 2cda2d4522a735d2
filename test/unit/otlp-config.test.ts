// Where the OTLP sink sends: config key, else OTEL_EXPORTER_OTLP_METRICS_* (mapped by convict onto
// the key), else OTEL_EXPORTER_OTLP_*, else the OTLP defaults — through the real config loader.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadConfig } from '../../src/config/load';
import { parseHeaders, resolveOtlpConfig, targetSecrets } from '../../src/deliver/otlp/config';

type Env = Record<string, string>;
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-otlp-config-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The sink's target for a config file (YAML under sinks.otlp) and an environment. */
function resolve(env: Env, yaml?: string) {
  let file: string | undefined;
  if (yaml !== undefined) {
    file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, `sinks:\n  otlp:\n${yaml.replace(/^/gm, '    ')}\n`);
  }
  return resolveOtlpConfig(loadConfig({ env, ...(file ? { file } : {}) }).settings.sinks.otlp, env);
}

describe('OTLP sink configuration', () => {
  it('defaults to http/protobuf at localhost:4318/v1/metrics, 10 s, no headers', () => {
    expect(resolve({})).toEqual({ url: 'http://localhost:4318/v1/metrics', protocol: 'http/protobuf', headers: {}, timeoutMs: 10_000 });
  });

  it.each([
    ['generic base without slash', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318' }, undefined, 'http://col:4318/v1/metrics'],
    ['generic base with a path and slash', { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gw.example/otlp/' }, undefined, 'https://gw.example/otlp/v1/metrics'],
    ['generic base with a query: the path goes before it', { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://u:p@gw.example/otlp?api_key=k' }, undefined, 'https://u:p@gw.example/otlp/v1/metrics?api_key=k'],
    ['metrics variable is used as is', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://vm:8428/opentelemetry/v1/metrics', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318' }, undefined, 'http://vm:8428/opentelemetry/v1/metrics'],
    ['config key over the generic variable', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318' }, 'endpoint: http://file:9/m', 'http://file:9/m'],
    ['metrics variable over the config key (convict: env over file)', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://env:1/m' }, 'endpoint: http://file:9/m', 'http://env:1/m'],
  ])('endpoint: %s', (_, env, yaml, url) => {
    expect(resolve(env, yaml).url).toBe(url);
  });

  it.each([
    [{}, undefined, 'http/protobuf'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, undefined, 'http/json'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf' }, undefined, 'http/protobuf'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, 'protocol: http/json', 'http/json'],
  ])('protocol from %j and %s → %s', (env, yaml, protocol) => {
    expect(resolve(env, yaml).protocol).toBe(protocol);
  });

  it.each([
    [{}, undefined, 10_000],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }, undefined, 2500],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '700' }, undefined, 700],
    [{ OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '700' }, 'timeout: 1.5', 1500], // our key is in seconds
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '700', SOCKPULSE_OTLP_TIMEOUT: '3' }, undefined, 3000],
  ])('timeout from %j and %s → %d ms', (env, yaml, ms) => {
    expect(resolve(env, yaml).timeoutMs).toBe(ms);
  });

  it('merges headers by name: generic variable < metrics variable / config key; values URL-decoded', () => {
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=a,api-key=generic', OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'api-key=s%3Dcret%2C1 , x-b = two%20words' };
    expect(resolve(env).headers).toEqual({ 'x-tenant': 'a', 'api-key': 's=cret,1', 'x-b': 'two words' });
    expect(resolve({ OTEL_EXPORTER_OTLP_HEADERS: 'a=1' }, 'headers: "b=2"').headers).toEqual({ a: '1', b: '2' });
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'col:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT: "col:4318" must be http:\/\/ or https:\/\//],
    [{ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'not a url' }, /sinks\.otlp\.endpoint: "not a url" is not a URL/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://u:SECRET@col:4317?k=SECRET' }, /OTEL_EXPORTER_OTLP_ENDPOINT: "grpc:\/\/\*\*\*:\*\*\*@col:4317\?k=\*\*\*" must be/],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '10s' }, /OTEL_EXPORTER_OTLP_TIMEOUT: "10s" is not a positive number/],
    [{ OTEL_EXPORTER_OTLP_HEADERS: 'ok=1,secretvalue' }, /OTEL_EXPORTER_OTLP_HEADERS: entry 2 is not key=value/],
    [{ OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'k=%zzsecret' }, /sinks\.otlp\.headers: entry 1 has a malformed %-escape/],
  ])('fails at start naming the source: %j', (env, message) => {
    expect(() => resolve(env)).toThrow(message);
  });

  it('never puts a header value into an error message', () => {
    const bad = ['k=%zzTOPSECRET', 'TOPSECRET', 'bad name=TOPSECRET', 'k=TOP%0ASECRET'];
    for (const text of bad) {
      let message = '';
      try {
        parseHeaders(text, 'h');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^h: entry 1/);
      expect(message).not.toMatch(/TOP|SECRET/);
    }
  });

  it('lists the secrets to hide in replies: URL parts, header values, and credentials after an auth scheme', () => {
    const t = resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://ou:op@gw/otlp?api_key=QK', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20T0KEN,x-k=HV' });
    expect(new Set(targetSecrets(t))).toEqual(new Set(['ou', 'op', 'QK', 'Bearer T0KEN', 'T0KEN', 'HV']));
  });
});
