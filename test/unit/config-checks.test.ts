// What would stop a sink or the Docker client from being built is refused when the configuration
// is loaded (so exit 2 at start, a refused SIGHUP reload), naming the key, with URLs masked:
// every enabled sink's own checks (sinks/checks.ts, the ones its constructor runs) and docker.host
// in the modes that use Docker. Disabled sinks and unused docker settings are not checked.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, loadConfig } from '../../src/config/load';
import { parseDockerHost } from '../../src/discover/docker/host';

type Env = Record<string, string>;
const load = (env: Env) => () => loadConfig({ env });
/** The error loadConfig throws for `env`: a ConfigError whose message names the key. */
function refusal(env: Env): string {
  try {
    loadConfig({ env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`loaded: ${JSON.stringify(env)}`);
}

const FALCON = { SOCKPULSE_FALCON_ENABLED: 'true' };
const STATSD = { SOCKPULSE_STATSD_ENABLED: 'true' };
const OTLP = { SOCKPULSE_OTLP_ENABLED: 'true' };
const PROM = { SOCKPULSE_PROMETHEUS_ENABLED: 'true' };

describe('an enabled sink\'s settings are checked at load', () => {
  it.each<[string, Env, Env, RegExp]>([
    ['a Falcon url that is not a URL', FALCON, { SOCKPULSE_FALCON_URL: '127.0.0.1:1988/v1/push' }, /^sinks\.falcon\.url: ".*" is not a URL/],
    ['a Falcon url that is not http(s)', FALCON, { SOCKPULSE_FALCON_URL: 'ftp://u:secret1@h/p?k=tok1' }, /^sinks\.falcon\.url: "ftp:\/\/\*\*\*:\*\*\*@h\/p\?k=\*\*\*" must be http/],
    ['an unknown Falcon endpoint placeholder', FALCON, { SOCKPULSE_FALCON_ENDPOINT: '{node}' }, /^sinks\.falcon\.endpoint: unknown placeholder \{node\}/],
    ['a Falcon prefix with a slash', FALCON, { SOCKPULSE_FALCON_PREFIX: 'a/b' }, /^sinks\.falcon\.prefix/],
    ['a Falcon batch larger than its buffer', FALCON, { SOCKPULSE_FALCON_BATCH_SIZE: '50', SOCKPULSE_FALCON_BUFFER_POINTS: '10' }, /^sinks\.falcon\.batch_size: 50 is larger/],
    ['StatsD port 0', STATSD, { SOCKPULSE_STATSD_PORT: '0' }, /^sinks\.statsd\.port: 0 is not a port/],
    ['StatsD over uds without a path', STATSD, { SOCKPULSE_STATSD_PROTOCOL: 'uds' }, /^sinks\.statsd\.path: required/],
    ['a Prometheus path without a leading slash', PROM, { SOCKPULSE_PROMETHEUS_PATH: 'metrics' }, /^sinks\.prometheus\.path: "metrics" must start with "\/"/],
    ['an OTLP endpoint key that is not http(s)', OTLP, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'grpc://u:secret1@col:4317' }, /^sinks\.otlp\.endpoint: "grpc:\/\/\*\*\*:\*\*\*@col:4317" must be http/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT that is not a URL', OTLP, { OTEL_EXPORTER_OTLP_ENDPOINT: 'col 4318?api_key=tok1' }, /^OTEL_EXPORTER_OTLP_ENDPOINT: ".*" is not a URL/],
    ['OTEL_EXPORTER_OTLP_PROTOCOL grpc', OTLP, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /^OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported/],
    ['OTEL_EXPORTER_OTLP_TIMEOUT that is not a number', OTLP, { OTEL_EXPORTER_OTLP_TIMEOUT: '10s' }, /^OTEL_EXPORTER_OTLP_TIMEOUT/],
    ['a malformed OTEL_EXPORTER_OTLP_HEADERS entry', OTLP, { OTEL_EXPORTER_OTLP_HEADERS: 'x-ok=1,secret1' }, /^OTEL_EXPORTER_OTLP_HEADERS: entry 2 is not key=value/],
  ])('%s is refused, naming it, secrets masked', (_what, enable, bad, message) => {
    const text = refusal({ ...enable, ...bad });
    expect(text).toMatch(message);
    expect(text).not.toMatch(/secret1|tok1/);
    expect(load(bad)).not.toThrow(); // the same value in a disabled sink is not checked
  });

  it('resolves the OTLP target from the environment given to the loader, not the process\'s', () => {
    expect(load({ ...OTLP, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318' })).not.toThrow();
    const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'not a url';
    try {
      expect(load(OTLP)).not.toThrow();
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
    }
  });

  it('loads every sink enabled with its defaults', () => {
    expect(load({ ...FALCON, ...STATSD, ...OTLP, ...PROM })).not.toThrow();
  });
});

describe('docker.host is checked at load in the modes that use Docker', () => {
  it.each([
    ['unix:///var/run/docker.sock', { socketPath: '/var/run/docker.sock' }],
    ['/run/user/1000/docker.sock', { socketPath: '/run/user/1000/docker.sock' }],
    ['tcp://127.0.0.1:2375', { host: '127.0.0.1', port: 2375, https: false }],
    ['tcp://[::1]:2375/', { host: '::1', port: 2375, https: false }],
    ['http://docker-proxy:2375', { host: 'docker-proxy', port: 2375, https: false }],
    ['https://engine.example:2376', { host: 'engine.example', port: 2376, https: true }],
  ])('%s is well formed', (host, endpoint) => {
    expect(parseDockerHost(host)).toEqual(endpoint);
  });

  it.each([
    ['garbage after credentials', 'tcp://user:secret1@', /holds a user or password/],
    ['credentials before a good address', 'tcp://user:secret1@127.0.0.1:2375', /holds a user or password/],
    ['an unsupported scheme', 'ssh://user:secret1@host', /is not one of unix:\/\/\/path, \/path or tcp:\/\/host:port/],
    ['npipe (Windows)', 'npipe:////./pipe/docker_engine', /is not one of/],
    ['no scheme', 'localhost:2375', /is not one of/],
    ['no port', 'tcp://127.0.0.1', /is not tcp:\/\/host:port/],
    ['port 0', 'tcp://127.0.0.1:0', /port between 1 and 65535/],
    ['a port past 65535', 'tcp://127.0.0.1:70000', /port between 1 and 65535/],
    ['a path', 'tcp://127.0.0.1:2375/v1.43?tok=tok1', /is not tcp:\/\/host:port/],
    ['unix:// without a path', 'unix://', /names no socket/],
  ])('%s is refused in auto and docker modes, masked', (_what, host, message) => {
    for (const mode of ['auto', 'docker']) {
      const text = refusal({ DOCKER_HOST: host, SOCKPULSE_DISCOVERY: mode });
      expect(text).toMatch(/^docker\.host: "/);
      expect(text).toMatch(message);
      expect(text).not.toMatch(/secret1|tok1/);
    }
    for (const mode of ['procfs', 'netns']) expect(load({ DOCKER_HOST: host, SOCKPULSE_DISCOVERY: mode })).not.toThrow();
  });

  it('needs the client certificate files for TLS (docker.tls_verify or https://), and only for a TCP endpoint', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-certs-'));
    try {
      const tls = { DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: 'true', DOCKER_CERT_PATH: dir };
      expect(refusal(tls)).toMatch(/^docker\.cert_path: TLS to the engine needs .*ca\.pem: ENOENT/);
      expect(refusal({ ...tls, DOCKER_HOST: 'https://127.0.0.1:2376', DOCKER_TLS_VERIFY: 'false' })).toMatch(/^docker\.cert_path/);
      expect(load({ ...tls, DOCKER_HOST: 'unix:///var/run/docker.sock' })).not.toThrow();
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(dir, f), '');
      expect(load(tls)).not.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
