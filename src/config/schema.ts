// Every configuration key, its default, its environment variable and what it means. The README's
// configuration reference is generated from this schema (npm run docs), so it cannot drift.
// Secrets: `sensitive: true` (convict) hides a whole value wherever it is shown; `redact: 'url'`
// marks a URL whose credentials and query values are hidden (config/secrets.ts).
import convict from 'convict';
import { parseInterval } from '../schedule/interval';
import { parseListen } from '../core/listen';
import { compileFilters } from '../discover/filters';
import { TARGET_LABEL_KEYS } from '../deliver/points';
import { checkSinkSettings } from '../deliver/checks';
import { checkDockerSettings } from '../discover/docker/host';

convict.addFormat({
  name: 'interval',
  validate(v: unknown) {
    parseInterval(String(v)); // throws with the allowed forms
  },
  coerce: (v: unknown) => String(v).trim(),
});

convict.addFormat({
  name: 'string-list',
  validate(v: unknown) {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new Error('must be a list of strings');
  },
  coerce: (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
});

convict.addFormat({
  name: 'listen',
  validate(v: unknown) {
    parseListen(String(v), ''); // convict prefixes the key
  },
});

convict.addFormat({
  name: 'listen-or-empty',
  validate: (v: unknown) => {
    if (v !== '') parseListen(String(v), '');
  },
});

convict.addFormat({
  name: 'positive-int',
  validate(v: unknown) {
    if (!Number.isInteger(v) || (v as number) < 1) throw new Error('must be a whole number ≥ 1');
  },
  coerce: Number,
});

convict.addFormat({
  name: 'non-negative-number',
  validate(v: unknown) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error('must be a number ≥ 0');
  },
  coerce: Number,
});

const filter = (what: string, env: string) => ({
  doc: what,
  format: 'string-list',
  default: [] as string[],
  env,
});

/** Buffer and retry settings shared by the push sinks (see sinks/push-queue.ts). */
const delivery = (env: string) => ({
  buffer_points: {
    doc: 'Points kept while the backend is unreachable; beyond this the oldest are dropped (and counted).',
    format: 'positive-int',
    default: 100000,
    env: `${env}_BUFFER_POINTS`,
  },
  attempts: {
    doc: 'Attempts at one payload within a cycle before it waits for the next cycle.',
    format: 'positive-int',
    default: 3,
    env: `${env}_ATTEMPTS`,
  },
  backoff_initial: {
    doc: 'First retry delay in seconds; it doubles per failure (with jitter) up to backoff_max.',
    format: 'non-negative-number',
    default: 1,
    env: `${env}_BACKOFF_INITIAL`,
  },
  backoff_max: {
    doc: 'Longest retry delay in seconds.',
    format: 'non-negative-number',
    default: 60,
    env: `${env}_BACKOFF_MAX`,
  },
});

export const schema = {
  interval: {
    doc: 'How often to collect: seconds (a divisor of 60, a whole number of minutes dividing an hour, or of hours dividing a day) or a cron expression (5 or 6 fields).',
    format: 'interval',
    default: '60',
    env: 'SOCKPULSE_INTERVAL',
  },
  cycle_timeout: {
    doc: 'Deadline of one cycle in seconds; 0 means 80% of the interval, at most 30 s.',
    format: 'non-negative-number',
    default: 0,
    env: 'SOCKPULSE_CYCLE_TIMEOUT',
  },
  hostname: {
    doc: 'Host name reported with every batch; empty means the machine\'s host name (in Kubernetes set it from the node name).',
    format: String,
    default: '',
    env: 'SOCKPULSE_HOSTNAME',
  },
  discovery: {
    mode: {
      doc: 'Where targets come from: auto (docker when the engine answers, else procfs), docker, procfs (every namespace under the proc root), netns (named namespaces under netns_root).',
      format: ['auto', 'docker', 'procfs', 'netns'],
      default: 'auto',
      env: 'SOCKPULSE_DISCOVERY',
    },
    proc_root: {
      doc: 'The proc filesystem to read (a host\'s /proc mounted elsewhere, or a fixture tree).',
      format: String,
      default: '/proc',
      env: 'SOCKPULSE_PROC_ROOT',
    },
    netns_root: {
      doc: 'Directory of named network namespaces (ip netns).',
      format: String,
      default: '/run/netns',
      env: 'SOCKPULSE_NETNS_ROOT',
    },
  },
  docker: {
    host: {
      doc: 'Docker engine endpoint: unix:///path (or /path) or tcp://host:port (http:// alike; https:// or tls_verify: TLS), with no user or password. Checked at start in the auto and docker modes.',
      format: String,
      default: 'unix:///var/run/docker.sock',
      env: 'DOCKER_HOST',
      redact: 'url',
    },
    tls_verify: {
      doc: 'Use TLS with the client certificate in cert_path (tcp endpoints).',
      format: Boolean,
      default: false,
      env: 'DOCKER_TLS_VERIFY',
    },
    cert_path: {
      doc: 'Directory holding ca.pem, cert.pem and key.pem.',
      format: String,
      default: '',
      env: 'DOCKER_CERT_PATH',
    },
    timeout: {
      doc: 'Timeout of one Docker API request, in seconds.',
      format: 'non-negative-number',
      default: 10,
      env: 'SOCKPULSE_DOCKER_TIMEOUT',
    },
    inspect_concurrency: {
      doc: 'How many containers are inspected at once (only new or restarted containers are).',
      format: 'positive-int',
      default: 8,
      env: 'SOCKPULSE_DOCKER_INSPECT_CONCURRENCY',
    },
    copy_labels: {
      doc: 'Further Docker labels to copy onto a target\'s labels, by exact name.',
      format: 'string-list',
      default: [] as string[],
      env: 'SOCKPULSE_DOCKER_COPY_LABELS',
    },
  },
  filters: {
    include_names: filter('Keep only containers whose name matches one of these anchored regular expressions.', 'SOCKPULSE_INCLUDE_NAMES'),
    exclude_names: filter('Drop containers whose name matches one of these anchored regular expressions.', 'SOCKPULSE_EXCLUDE_NAMES'),
    include_labels: filter('Keep only containers with one of these labels: "key" (present) or "key=regex".', 'SOCKPULSE_INCLUDE_LABELS'),
    exclude_labels: filter('Drop containers with one of these labels: "key" (present) or "key=regex".', 'SOCKPULSE_EXCLUDE_LABELS'),
  },
  output: {
    enabled: {
      doc: 'Print every cycle to stdout (always on with --once).',
      format: Boolean,
      default: true,
      env: 'SOCKPULSE_OUTPUT_ENABLED',
    },
    format: {
      doc: 'stdout format: table (one line per namespace) or json (one document per cycle, one per line).',
      format: ['table', 'json'],
      default: 'table',
      env: 'SOCKPULSE_FORMAT',
    },
  },
  sinks: {
    falcon: {
      enabled: { doc: 'Push to Open-Falcon.', format: Boolean, default: false, env: 'SOCKPULSE_FALCON_ENABLED' },
      url: {
        doc: 'The agent\'s /v1/push or a transfer\'s /api/push (the transfer\'s reply reports invalid items).',
        format: String,
        default: 'http://127.0.0.1:1988/v1/push',
        env: 'SOCKPULSE_FALCON_URL',
        redact: 'url',
      },
      endpoint: {
        doc: 'Endpoint of each item: a template of {host}, {container}, {pod}, {namespace}; a placeholder with no value (the host target) falls back to {host}.',
        format: String,
        default: '{host}',
        env: 'SOCKPULSE_FALCON_ENDPOINT',
      },
      prefix: { doc: 'Metric name prefix.', format: String, default: 'sockpulse', env: 'SOCKPULSE_FALCON_PREFIX' },
      timeout: {
        doc: 'Timeout of one push request, in seconds; 0 means only the cycle deadline limits it. Above the ~14 s the local agent takes to answer when its transfer is down; behind the agent a request sent in full and not answered in time is not resent (the agent may have queued it) but counted as dropped, reason uncertain.',
        format: 'non-negative-number',
        default: 20,
        env: 'SOCKPULSE_FALCON_TIMEOUT',
      },
      batch_size: { doc: 'Items per push request.', format: 'positive-int', default: 500, env: 'SOCKPULSE_FALCON_BATCH_SIZE' },
      ...delivery('SOCKPULSE_FALCON'),
    },
    statsd: {
      enabled: { doc: 'Send to a StatsD server.', format: Boolean, default: false, env: 'SOCKPULSE_STATSD_ENABLED' },
      protocol: { doc: 'udp, tcp or uds (unix datagram socket at path).', format: ['udp', 'tcp', 'uds'], default: 'udp', env: 'SOCKPULSE_STATSD_PROTOCOL' },
      host: { doc: 'StatsD host (udp, tcp).', format: String, default: '127.0.0.1', env: 'SOCKPULSE_STATSD_HOST' },
      port: { doc: 'StatsD port (udp, tcp).', format: 'port', default: 8125, env: 'SOCKPULSE_STATSD_PORT' },
      path: { doc: 'Unix socket path (uds).', format: String, default: '', env: 'SOCKPULSE_STATSD_PATH' },
      prefix: { doc: 'Metric name prefix.', format: String, default: 'sockpulse', env: 'SOCKPULSE_STATSD_PREFIX' },
      tag_style: {
        doc: 'dogstatsd (name:value|g|#k:v), telegraf (name,k=v:value|g) or none (labels folded into the dotted name: name.k.v:value|g).',
        format: ['dogstatsd', 'telegraf', 'none'],
        default: 'dogstatsd',
        env: 'SOCKPULSE_STATSD_TAG_STYLE',
      },
    },
    otlp: {
      enabled: { doc: 'Export over OTLP/HTTP.', format: Boolean, default: false, env: 'SOCKPULSE_OTLP_ENABLED' },
      endpoint: {
        doc: 'Metrics URL; empty means OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, else http://localhost:4318/v1/metrics.',
        format: String,
        default: '',
        env: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
        redact: 'url',
      },
      protocol: {
        doc: 'http/protobuf or http/json; empty means OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf.',
        format: ['', 'http/protobuf', 'http/json'],
        default: '',
        env: 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
      },
      headers: {
        doc: 'Extra request headers as k=v,k2=v2 (for example an API key); empty means OTEL_EXPORTER_OTLP_HEADERS. Never logged or printed.',
        format: String,
        default: '',
        env: 'OTEL_EXPORTER_OTLP_METRICS_HEADERS',
        sensitive: true,
      },
      timeout: {
        doc: 'Timeout of one export in seconds; 0 means OTEL_EXPORTER_OTLP_METRICS_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT (both ms), else 10.',
        format: 'non-negative-number',
        default: 0,
        env: 'SOCKPULSE_OTLP_TIMEOUT',
      },
      ...delivery('SOCKPULSE_OTLP'),
    },
    prometheus: {
      enabled: { doc: 'Serve the last cycle on an HTTP /metrics endpoint.', format: Boolean, default: false, env: 'SOCKPULSE_PROMETHEUS_ENABLED' },
      listen: {
        doc: 'Address to listen on, host:port (loopback unless you mean otherwise).',
        format: 'listen',
        default: '127.0.0.1:9477',
        env: 'SOCKPULSE_PROMETHEUS_LISTEN',
      },
      path: { doc: 'Path of the metrics page.', format: String, default: '/metrics', env: 'SOCKPULSE_PROMETHEUS_PATH' },
    },
  },
  health: {
    listen: {
      doc: 'Where /healthz (the process answers) and /readyz (a cycle succeeded recently) are served, host:port; empty: no health endpoint. Daemon mode only.',
      format: 'listen-or-empty',
      default: '',
      env: 'SOCKPULSE_HEALTH_LISTEN',
    },
  },
  log: {
    level: {
      doc: 'Log level (logs go to stderr as JSON lines).',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'SOCKPULSE_LOG_LEVEL',
    },
  },
};

/** One key's definition (a node of the schema with a default). */
export interface SchemaLeaf {
  doc: string;
  format: unknown;
  default: unknown;
  env?: string;
  sensitive?: boolean;
  redact?: string;
}

/** Every key of the schema, dotted, with its definition, in schema order. */
export function schemaLeaves(node: object = schema, prefix = ''): [string, SchemaLeaf][] {
  return Object.entries(node).flatMap(([k, v]: [string, unknown]): [string, SchemaLeaf][] => {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'object' && v !== null && 'doc' in v && 'default' in v) return [[key, v as SchemaLeaf]];
    return schemaLeaves(v as object, key);
  });
}

export type SchemaConfig = convict.Config<ReturnType<typeof defaultsShape>>;
function defaultsShape() {
  return convict(schema).getProperties();
}
export type Settings = ReturnType<typeof defaultsShape>;

/**
 * Checks convict cannot express, run once at load (start and SIGHUP): cross-key rules, docker.host
 * in the modes that use Docker, and each enabled sink's own checks (sinks/checks.ts), so whatever
 * would stop a sink or the Docker client from being built is refused here. `env` is the
 * environment the configuration was read from (the OTLP target reads OTEL_EXPORTER_OTLP_*).
 * Throws naming the key.
 */
export function checkSettings(s: Settings, env: NodeJS.ProcessEnv = process.env): void {
  compileFilters(s.filters);
  const own = s.docker.copy_labels.filter((k) => (TARGET_LABEL_KEYS as readonly string[]).includes(k));
  if (own.length > 0) {
    throw new Error(`docker.copy_labels: ${own.join(', ')} would overwrite sockpulse's own label of that name; copy labels may not be named ${TARGET_LABEL_KEYS.join(', ')}`);
  }
  if (s.discovery.mode === 'auto' || s.discovery.mode === 'docker') checkDockerSettings(s.docker);
  checkSinkSettings(s.sinks, env);
  const every = parseInterval(s.interval).seconds;
  if (s.cycle_timeout > 0 && every !== undefined && s.cycle_timeout > every) {
    throw new Error(`cycle_timeout: ${s.cycle_timeout} s is longer than the interval (${every} s); cycles would pile up`);
  }
}
