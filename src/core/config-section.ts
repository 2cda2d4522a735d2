// How a plugin (collector, discovery source, sink) declares its part of the configuration. The
// configuration loader (config/) assembles the whole schema from these declarations, validates
// once at start (and on SIGHUP), and hands each plugin its section already resolved into the
// typed values it works with; plugins never read the environment or parse a setting themselves.

/** The environment the configuration was read from (for OTEL_* and similar conventions). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * One key of a section: convict's schema node (`format` is a convict format or the name of one
 * registered in config/formats.ts). `sensitive` hides the value wherever it is shown; `redact:
 * 'url'` hides a URL's credentials and query values (core/secrets.ts).
 */
export interface KeySpec {
  doc: string;
  format: unknown;
  default: unknown;
  env?: string;
  sensitive?: boolean;
  redact?: 'url';
}

export type SectionSchema = { [key: string]: KeySpec | SectionSchema };

export interface ConfigSection<R> {
  /** Dotted place of the section in the configuration ('sinks.falcon', 'docker', 'output'). */
  path: string;
  schema: SectionSchema;
  /**
   * The section's raw values (as convict read them) → what the plugin is built with. Throws an
   * Error naming the key (`sinks.falcon.url: …`) on a value it cannot use. Pure: no connection.
   */
  resolve(raw: Record<string, unknown>, env: Env): R;
}

/** A section's values when nothing is configured: each key's default. */
export function sectionDefaults(schema: SectionSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    const leaf = typeof v === 'object' && v !== null && 'doc' in v && 'default' in v;
    out[k] = leaf ? structuredClone((v as KeySpec).default) : sectionDefaults(v as SectionSchema);
  }
  return out;
}
