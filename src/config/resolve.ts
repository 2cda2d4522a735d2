// The configuration resolved once into the typed values the rest of the agent receives: the
// schedule with its real period, parsed endpoints, compiled filters, and each enabled plugin's
// own section (resolved by the plugin itself, which throws naming the key). Runs at start and on
// SIGHUP; nothing downstream parses a setting again.
import * as os from 'os';
import { Env } from '../core/config-section';
import { Listen, parseListen } from '../core/listen';
import { TARGET_LABEL_KEYS } from '../core/labels';
import { Interval, parseInterval } from '../schedule/interval';
import { compileFilters } from '../discover/filters';
import { DiscoverySpec, sourcesOf } from '../discover/build';
import { ActiveCollector, activeCollector } from '../collect/stage';
import { catalog } from '../collect/registry';
import { MetricDef, sampleLabelKeys } from '../core/metrics';
import { SinkSpec } from '../deliver/build';
import { REGISTRIES, Registries, at } from './schema';

export interface Resolved {
  interval: Interval;
  cycleTimeoutMs: number;
  /** Configured, else the machine's. */
  hostname: string;
  procRoot: string;
  copyLabels: readonly string[];
  discovery: DiscoverySpec;
  /** Most series one cycle may produce; 0: no limit. */
  maxSeries: number;
  /** Enabled collectors, in registry order. */
  collectors: ActiveCollector[];
  /** Every metric the registered collectors and the agent can emit (enabled or not: a stable reference). */
  catalog: MetricDef[];
  /** Every sink, enabled or not (stdout runs in --once regardless). */
  sinks: SinkSpec[];
  health: { listen: string; address: Listen } | undefined;
  logLevel: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Raw = any;

/** Throws an Error naming the key. `env`: the environment the configuration was read from. */
export function resolveSettings(s: Raw, env: Env, r: Registries = REGISTRIES): Resolved {
  const interval = keyed('interval', () => parseInterval(String(s.interval)));
  if (s.cycle_timeout > 0 && s.cycle_timeout > interval.period) {
    throw new Error(`cycle_timeout: ${s.cycle_timeout} s is longer than the ${interval.fixed ? 'interval' : 'schedule\'s period'} (${interval.period} s); cycles would pile up`);
  }
  // One list of copied labels for every source (sinks declare them up front): Docker's, then the CRI's.
  const copyLabels: string[] = [];
  for (const key of ['docker', 'cri']) {
    const list: string[] = s[key]?.copy_labels ?? [];
    const reserved: readonly string[] = [...TARGET_LABEL_KEYS, ...sampleLabelKeys(catalog())]; // every collector's, on or off
    const own = list.filter((k) => reserved.includes(k));
    if (own.length > 0) {
      throw new Error(`${key}.copy_labels: ${own.join(', ')} would overwrite sockpulse's own label of that name; copy labels may not be named ${reserved.join(', ')}`);
    }
    for (const k of list) if (!copyLabels.includes(k)) copyLabels.push(k);
  }
  const f = s.filters;
  const sections = new Map<string, unknown>();
  for (const p of sourcesOf(s.discovery.mode, r.sources)) if (p.config) sections.set(p.name, p.config.resolve(at(s, p.config.path), env));
  const hostname: string = s.hostname || os.hostname();
  return {
    interval,
    cycleTimeoutMs: (s.cycle_timeout > 0 ? s.cycle_timeout : Math.min(30, interval.period * 0.8)) * 1000,
    hostname,
    procRoot: s.discovery.proc_root,
    copyLabels,
    discovery: {
      mode: s.discovery.mode,
      shared: {
        procRoot: s.discovery.proc_root,
        copyLabels,
        filter: compileFilters(f),
        hasIncludeFilter: f.include_names.length + f.include_labels.length > 0,
        watch: { enabled: s.discovery.watch, resyncCycles: s.discovery.resync_cycles },
      },
      sections,
    },
    collectors: r.collectors
      .filter((c) => s.collectors[c.name].enabled)
      .map((c) => activeCollector(c, c.config?.resolve(at(s, `collectors.${c.name}`), env))),
    maxSeries: s.max_series,
    catalog: catalog(r.collectors),
    sinks: r.sinks.map((p): SinkSpec => {
      const raw = at(s, p.config.path);
      const enabled = raw.enabled === true;
      const needs = p.requires?.collector;
      if (enabled && needs && s.collectors[needs]?.enabled !== true) {
        throw new Error(`${p.config.path}.enabled is true but collectors.${needs}.enabled is false: ${p.requires!.why}; set collectors.${needs}.enabled: true, or ${p.config.path}.enabled: false`);
      }
      const resolve = enabled || p.once === 'always';
      return {
        plugin: p,
        enabled,
        ...(resolve ? { cfg: p.config.resolve(raw, env) } : {}),
        identity: JSON.stringify([raw, hostname, copyLabels]),
      };
    }),
    health: s.health.listen ? { listen: s.health.listen, address: parseListen(s.health.listen, 'health.listen') } : undefined,
    logLevel: s.log.level,
  };
}

/** Runs a parse, prefixing its error with the key it concerns. */
function keyed<T>(key: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new Error(`${key}: ${(err as Error).message}`);
  }
}
