// The whole configuration schema: the agent's own keys plus every plugin's section, assembled from
// the registries (discover/registry.ts, collect/registry.ts, deliver/registry.ts), so a plugin's
// keys are declared once, in its own module. The README's configuration reference, the example
// configuration and --print-config all come from this (npm run docs).
// Secrets: `sensitive: true` (convict) hides a whole value wherever it is shown; `redact: 'url'`
// marks a URL whose credentials and query values are hidden (core/secrets.ts).
import { KeySpec, SectionSchema } from '../core/config-section';
import { AnyCollectorPlugin } from '../collect/collector';
import { COLLECTORS } from '../collect/registry';
import { AnyDiscoveryPlugin } from '../discover/plugin';
import { FALLBACK, SOURCES } from '../discover/registry';
import { AnySinkPlugin } from '../deliver/plugin';
import { SINKS } from '../deliver/registry';

/** The plugins a schema is assembled from (the registries, or others in tests). */
export interface Registries {
  sources: readonly AnyDiscoveryPlugin[];
  collectors: readonly AnyCollectorPlugin[];
  sinks: readonly AnySinkPlugin[];
}

export const REGISTRIES: Registries = { sources: SOURCES, collectors: COLLECTORS, sinks: SINKS };

const filter = (what: string, env: string): KeySpec => ({ doc: what, format: 'string-list', default: [] as string[], env });

function modeDoc(sources: readonly AnyDiscoveryPlugin[]): string {
  const runtimes = sources.filter((s) => s.auto).map((s) => s.name);
  const each = sources.map((s) => `${s.name} (${s.doc})`).join(', ');
  return `Where targets come from: auto (the first of ${runtimes.join(', ') || 'no runtime'} that answers, else ${FALLBACK}), ${each}.`;
}

/** The collector's section: its switch, then its own keys. */
function collectorSchema(c: AnyCollectorPlugin): SectionSchema {
  const env = `SOCKPULSE_COLLECTOR_${c.name.toUpperCase()}`;
  return {
    enabled: { doc: `Collect ${c.doc}.`, format: Boolean, default: c.defaultEnabled, env: `${env}_ENABLED` },
    ...(c.config?.schema ?? {}),
  };
}

/** Every key, in reference order: the agent's, discovery, filters, collectors, sinks, health, log. */
export function buildSchema(r: Registries = REGISTRIES): SectionSchema {
  const schema: SectionSchema = {
    interval: {
      doc: 'How often to collect: seconds (a divisor of 60, a whole number of minutes dividing an hour, or of hours dividing a day) or a cron expression (5 or 6 fields).',
      format: 'interval',
      default: '60',
      env: 'SOCKPULSE_INTERVAL',
    },
    cycle_timeout: {
      doc: 'Deadline of one cycle in seconds; 0 means 80% of the period, at most 30 s.',
      format: 'non-negative-number',
      default: 0,
      env: 'SOCKPULSE_CYCLE_TIMEOUT',
    },
    max_series: {
      doc: 'Most series one cycle may produce, over every namespace and collector; beyond it the lowest-priority collectors\' excess is dropped (counted in collector.series_dropped, logged once). 0: no limit. See "Series per namespace".',
      format: 'non-negative-int',
      default: 0,
      env: 'SOCKPULSE_MAX_SERIES',
    },
    hostname: {
      doc: 'Host name reported with every batch; empty means the machine\'s host name (in Kubernetes set it from the node name).',
      format: String,
      default: '',
      env: 'SOCKPULSE_HOSTNAME',
    },
    discovery: {
      mode: { doc: modeDoc(r.sources), format: ['auto', ...r.sources.map((s) => s.name)], default: 'auto', env: 'SOCKPULSE_DISCOVERY' },
      proc_root: {
        doc: 'The proc filesystem to read (a host\'s /proc mounted elsewhere, or a fixture tree).',
        format: String,
        default: '/proc',
        env: 'SOCKPULSE_PROC_ROOT',
      },
      watch: {
        doc: 'Follow the runtime\'s events (Docker /events, CRI GetContainerEvents) instead of listing every cycle: a cycle then makes no list call, and a new container is inspected once. A runtime without events (containerd 1.6) is listed every cycle, as without watch.',
        format: Boolean,
        default: false,
        env: 'SOCKPULSE_DISCOVERY_WATCH',
      },
      resync_cycles: {
        doc: 'With watch: list anyway every this many cycles (and after the event stream reopens), so a missed event costs at most that many cycles.',
        format: 'positive-int',
        default: 5,
        env: 'SOCKPULSE_DISCOVERY_RESYNC_CYCLES',
      },
    },
  };
  for (const s of r.sources) if (s.config) place(schema, s.config.path, s.config.schema);
  place(schema, 'docker', {
    copy_labels: {
      doc: 'Further container (or pod) labels to copy onto a target\'s labels, by exact name.',
      format: 'string-list',
      default: [] as string[],
      env: 'SOCKPULSE_DOCKER_COPY_LABELS',
    },
  });
  place(schema, 'filters', {
    include_names: filter('Keep only containers whose name matches one of these anchored regular expressions.', 'SOCKPULSE_INCLUDE_NAMES'),
    exclude_names: filter('Drop containers whose name matches one of these anchored regular expressions.', 'SOCKPULSE_EXCLUDE_NAMES'),
    include_labels: filter('Keep only containers with one of these labels: "key" (present) or "key=regex".', 'SOCKPULSE_INCLUDE_LABELS'),
    exclude_labels: filter('Drop containers with one of these labels: "key" (present) or "key=regex".', 'SOCKPULSE_EXCLUDE_LABELS'),
  });
  for (const c of r.collectors) place(schema, `collectors.${c.name}`, collectorSchema(c));
  for (const k of r.sinks) place(schema, k.config.path, k.config.schema);
  place(schema, 'health', {
    listen: {
      doc: 'Where /healthz (the process answers) and /readyz (a cycle succeeded recently) are served, host:port; empty: no health endpoint. Daemon mode only.',
      format: 'listen-or-empty',
      default: '',
      env: 'SOCKPULSE_HEALTH_LISTEN',
    },
  });
  place(schema, 'log', {
    level: {
      doc: 'Log level (logs go to stderr as JSON lines).',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'SOCKPULSE_LOG_LEVEL',
    },
  });
  return schema;
}

export function isKey(v: unknown): v is KeySpec {
  return typeof v === 'object' && v !== null && 'doc' in v && 'default' in v;
}

/** Merges a section's keys in at a dotted path; two declarations of one key are a programming error. */
function place(schema: SectionSchema, path: string, keys: SectionSchema): void {
  let node = schema;
  for (const part of path.split('.')) {
    const next = node[part];
    if (next === undefined) node[part] = {};
    else if (isKey(next)) throw new Error(`configuration: ${path} is a key, not a section`);
    node = node[part] as SectionSchema;
  }
  for (const [k, v] of Object.entries(keys)) {
    if (node[k] !== undefined) throw new Error(`configuration: ${path}.${k} is declared twice`);
    node[k] = v;
  }
}

/** Every key of a schema, dotted, with its definition, in schema order. */
export function schemaLeaves(node: SectionSchema = buildSchema(), prefix = ''): [string, KeySpec][] {
  return Object.entries(node).flatMap(([k, v]): [string, KeySpec][] => {
    const key = prefix ? `${prefix}.${k}` : k;
    return isKey(v) ? [[key, v]] : schemaLeaves(v, key);
  });
}

/** The value at a dotted path of a nested object. */
export function at(o: unknown, path: string): Record<string, unknown> {
  return path.split('.').reduce((n, k) => (n as Record<string, unknown>)?.[k], o) as Record<string, unknown>;
}
