// Where the OTLP sink sends, resolved once at start. Each setting is the config
// key, else the standard OTEL_EXPORTER_OTLP_* variable, else the OTLP default. Convict already
// maps the signal-specific OTEL_EXPORTER_OTLP_METRICS_{ENDPOINT,PROTOCOL,HEADERS} onto the config
// keys; the generic variables and the timeouts (milliseconds in OTel, seconds in our config) are
// resolved here. Errors name the key or variable, never a header value; a URL in them is redacted.
import { httpUrl, urlSecrets } from '../../core/secrets';

export type OtlpProtocol = 'http/protobuf' | 'http/json';
const PROTOCOLS: readonly string[] = ['http/protobuf', 'http/json'];
const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/metrics';
const DEFAULT_TIMEOUT_MS = 10_000;

export interface OtlpTarget {
  url: string;
  protocol: OtlpProtocol;
  /** Sensitive: never log them (only their count). */
  headers: Record<string, string>;
  timeoutMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;
const env = (e: Env, name: string): string | undefined => (e[name]?.trim() ? e[name]!.trim() : undefined);

/** The `sinks.otlp` keys this file resolves. */
export interface OtlpKeys {
  endpoint: string;
  protocol: string;
  headers: string;
  timeout: number;
}

export function resolveOtlpConfig(cfg: OtlpKeys, e: Env): OtlpTarget {
  return {
    url: resolveEndpoint(cfg.endpoint, e),
    protocol: resolveProtocol(cfg.protocol, e),
    headers: resolveHeaders(cfg.headers, e),
    timeoutMs: resolveTimeout(cfg.timeout, e),
  };
}

function resolveEndpoint(key: string, e: Env): string {
  if (key.trim()) return httpUrl(key.trim(), 'sinks.otlp.endpoint').href;
  const base = env(e, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!base) return DEFAULT_ENDPOINT;
  // The generic endpoint is a base URL: the signal path is appended to its path (OTLP exporter
  // spec); a query string (an API key) stays after it.
  const u = httpUrl(base, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/metrics`;
  return u.href;
}

function resolveProtocol(key: string, e: Env): OtlpProtocol {
  const [value, from] = key ? [key, 'sinks.otlp.protocol'] : [env(e, 'OTEL_EXPORTER_OTLP_PROTOCOL'), 'OTEL_EXPORTER_OTLP_PROTOCOL'];
  if (value === undefined) return 'http/protobuf';
  if (!PROTOCOLS.includes(value)) throw new Error(`${from}: "${value}" is not supported; use http/protobuf or http/json`);
  return value as OtlpProtocol;
}

function resolveTimeout(seconds: number, e: Env): number {
  if (seconds > 0) return Math.round(seconds * 1000);
  for (const name of ['OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT']) {
    const v = env(e, name);
    if (v === undefined) continue;
    const ms = Number(v);
    if (!Number.isFinite(ms) || ms <= 0) throw new Error(`${name}: "${v}" is not a positive number of milliseconds`);
    return ms;
  }
  return DEFAULT_TIMEOUT_MS;
}

/**
 * The generic variable's headers overlaid with the key's (which already holds
 * OTEL_EXPORTER_OTLP_METRICS_HEADERS when set): a merge by header name, like the OTLP exporter,
 * which always merges both variables under whatever it is given.
 */
function resolveHeaders(key: string, e: Env): Record<string, string> {
  const generic = env(e, 'OTEL_EXPORTER_OTLP_HEADERS');
  return { ...(generic ? parseHeaders(generic, 'OTEL_EXPORTER_OTLP_HEADERS') : {}), ...parseHeaders(key, 'sinks.otlp.headers') };
}

// RFC 9110 token; values may not hold control characters (Node rejects them at request time).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** `k=v,k2=v2`, keys and values URL-decoded (W3C baggage format, as OTEL_EXPORTER_OTLP_HEADERS). */
export function parseHeaders(text: string, from: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(',').forEach((entry, i) => {
    if (!entry.trim()) return;
    const eq = entry.indexOf('=');
    const where = `${from}: entry ${i + 1}`;
    if (eq <= 0) throw new Error(`${where} is not key=value`);
    let k: string;
    let v: string;
    try {
      k = decodeURIComponent(entry.slice(0, eq).trim());
      v = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      throw new Error(`${where} has a malformed %-escape`);
    }
    if (!TOKEN.test(k)) throw new Error(`${where}: the header name is not a valid HTTP token`);
    if (BAD_VALUE.test(v)) throw new Error(`${where} (${k}): the value holds control characters`);
    out[k] = v;
  });
  return out;
}

/**
 * What the sink hides in any text it logs or reports (a backend's reply may quote them): the
 * URL's secret parts, each header value, and a value's credentials after its scheme ("Bearer x").
 */
export function targetSecrets(t: OtlpTarget): string[] {
  return [...urlSecrets(t.url), ...Object.values(t.headers).flatMap((v) => [v, v.slice(v.indexOf(' ') + 1)])];
}
