// Builds the configured discovery source (or `auto` over the registry's runtimes).
import { Discovery } from '../core/model';
import { Logger } from '../core/log';
import { DiscoveryOptions } from './common';
import { AutoDiscovery } from './auto';
import { AnyDiscoveryPlugin } from './plugin';
import { FALLBACK, SOURCES } from './registry';

/** Discovery as the configuration resolved it. */
export interface DiscoverySpec {
  /** `auto` or a source's name. */
  mode: string;
  shared: DiscoveryOptions;
  /** Resolved sections of the sources this mode uses, by source name. */
  sections: ReadonlyMap<string, unknown>;
}

/** The sources a mode builds: the named one, or for `auto` the runtimes then the fallback. */
export function sourcesOf(mode: string, sources: readonly AnyDiscoveryPlugin[] = SOURCES): AnyDiscoveryPlugin[] {
  if (mode !== 'auto') return sources.filter((p) => p.name === mode);
  return sources.filter((p) => p.auto !== undefined || p.name === FALLBACK);
}

export function createDiscovery(spec: DiscoverySpec, log: Logger, sources: readonly AnyDiscoveryPlugin[] = SOURCES): Discovery {
  const make = (p: AnyDiscoveryPlugin): Discovery => p.create(spec.sections.get(p.name), spec.shared, log);
  if (spec.mode !== 'auto') {
    const p = sources.find((s) => s.name === spec.mode);
    if (!p) throw new Error(`discovery.mode: no source named ${spec.mode}`);
    return make(p);
  }
  const fallback = sources.find((s) => s.name === FALLBACK)!;
  const candidates = sources
    .filter((p) => p.auto !== undefined)
    .map((p) => {
      const cfg = spec.sections.get(p.name);
      return { name: p.name, present: () => p.auto!.present(cfg), absent: () => p.auto!.describe(cfg), make: () => make(p) };
    });
  return new AutoDiscovery(candidates, make(fallback), (source, reason) =>
    source === FALLBACK
      ? log.info({ discovery: source, reason }, 'no container runtime answering; scanning every network namespace under the proc root')
      : log.info({ discovery: source }, `discovering containers through ${source}`),
  );
}
