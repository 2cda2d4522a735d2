// Loads the configuration once, at start: defaults < file (YAML or JSON) < environment < flags.
// Unknown keys and bad values fail with the key's name; the result is frozen.
import * as fs from 'fs';
import convict from 'convict';
import { Settings, checkSettings, schema, schemaLeaves } from './schema';
import { redactUrl } from '../core/secrets';

export class ConfigError extends Error {
  readonly code = 'ECONFIG';
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag values by dotted key, applied last. */
  overrides?: Record<string, unknown>;
}

export interface Loaded {
  settings: Readonly<Settings>;
  /** The effective configuration as JSON: sensitive values masked, URLs redacted (core/secrets.ts). */
  printable(): string;
}

export function loadConfig(opts: LoadOptions = {}): Loaded {
  try {
    const env = opts.env ?? process.env;
    const config = convict(schema, { env, args: [] });
    if (opts.file) config.load(readFile(opts.file));
    for (const [key, value] of Object.entries(opts.overrides ?? {})) {
      if (value !== undefined) config.set(key as never, value as never);
    }
    // A file may say `interval: 30` (a number); everything downstream takes the string form.
    config.set('interval', String(config.get('interval')));
    config.validate({ allowed: 'strict' });
    const settings = config.getProperties() as Settings;
    checkSettings(settings, env);
    return { settings: deepFreeze(settings), printable: () => printable(config.toString()) };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError((err as Error).message);
  }
}

/** convict's JSON (`sensitive` keys already "[Sensitive]") with every `redact: 'url'` value redacted. */
function printable(json: string): string {
  const out = JSON.parse(json) as Record<string, unknown>;
  for (const [key, leaf] of schemaLeaves()) {
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
