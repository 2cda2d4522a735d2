// Loads the configuration once, at start (and on SIGHUP): defaults < file (YAML or JSON) <
// environment < flags. Unknown keys and bad values fail with the key's name; the raw settings are
// frozen and resolved (config/resolve.ts) into what the agent is built from.
import * as fs from 'fs';
import convict from 'convict';
import { redactUrl } from '../core/secrets';
import { registerFormats } from './formats';
import { REGISTRIES, Registries, buildSchema, schemaLeaves } from './schema';
import { Resolved, resolveSettings } from './resolve';

export class ConfigError extends Error {
  readonly code = 'ECONFIG';
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag values by dotted key, applied last. */
  overrides?: Record<string, unknown>;
  /** The plugins to configure (the registries; others in tests). */
  registries?: Registries;
}

/** The raw settings as convict read them: nested objects of key → value, frozen. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Settings = any;

export interface Loaded {
  settings: Readonly<Settings>;
  resolved: Resolved;
  /** The effective configuration as JSON: sensitive values masked, URLs redacted (core/secrets.ts). */
  printable(): string;
}

export function loadConfig(opts: LoadOptions = {}): Loaded {
  registerFormats();
  const registries = opts.registries ?? REGISTRIES;
  const schema = buildSchema(registries);
  try {
    const env = opts.env ?? process.env;
    const config = convict(schema as convict.Schema<unknown>, { env, args: [] });
    if (opts.file) config.load(readFile(opts.file));
    for (const [key, value] of Object.entries(opts.overrides ?? {})) {
      if (value !== undefined) config.set(key as never, value as never);
    }
    // A file may say `interval: 30` (a number); everything downstream takes the string form.
    config.set('interval' as never, String(config.get('interval' as never)) as never);
    config.validate({ allowed: 'strict' });
    const settings = config.getProperties() as Settings;
    const resolved = resolveSettings(settings, env, registries);
    return { settings: deepFreeze(settings), resolved, printable: () => printable(config.toString(), schema) };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(withRenames((err as Error).message));
  }
}

/** Sections that were renamed: old → new, and what to know. */
const RENAMED: Record<string, string> = {
  'collectors.snmp_counters': 'collectors.protocols (its 13 counters are that collector\'s default selection, under the same metric names)',
};

/** convict's "not declared" message, told where a renamed key went. */
function withRenames(message: string): string {
  for (const [old, now] of Object.entries(RENAMED)) {
    if (message.includes(`'${old}.`)) return `${message}; ${old} is now ${now}`;
  }
  return message;
}

/** convict's JSON (`sensitive` keys already "[Sensitive]") with every `redact: 'url'` value redacted. */
function printable(json: string, schema: ReturnType<typeof buildSchema>): string {
  const out = JSON.parse(json) as Record<string, unknown>;
  for (const [key, leaf] of schemaLeaves(schema)) {
    if (leaf.redact !== 'url') continue;
    const path = key.split('.');
    const name = path.pop()!;
    const parent = path.reduce((node, k) => node[k] as Record<string, unknown>, out);
    if (typeof parent[name] === 'string') parent[name] = redactUrl(parent[name]);
  }
  return JSON.stringify(out, null, 2);
}

function readFile(file: string): object {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const data: unknown = file.endsWith('.json') ? JSON.parse(text) : (require('yaml') as typeof import('yaml')).parse(text);
    if (data === null || data === undefined) return {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new Error('the top level must be a mapping of keys');
    return data;
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
