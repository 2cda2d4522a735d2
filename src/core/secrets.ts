// Secrets in configured values, and the one rule set that hides them wherever a value is shown:
// logs, --print-config, error messages and the --once output.
// - A URL (every schema key marked `redact: 'url'`, and the OTLP endpoint however it is set):
//   user and password, each query value (its key stays; a key without a value is hidden whole)
//   and the fragment become ***; scheme, host, port and path stay readable.
// - Text that does not parse as a URL is hidden more widely: everything between the scheme and
//   its last '@', and everything after the first '?' or '#' that follows.
// - Text a backend sends back (an error reply may quote the API key it refuses) goes through
//   hideSecrets() with the sink's secret strings before it is logged or reported (strings under
//   MIN_HIDDEN characters excepted).

export const MASK = '***';

/** The URL with its secret parts masked (see above); a URL without any is returned as given. */
export function redactUrl(text: string): string {
  const u = parse(text);
  if (!u) return redactUnparsed(text);
  if (!u.username && !u.password && !u.search && !u.hash) return text;
  const user = u.username || u.password ? `${u.username ? MASK : ''}${u.password ? `:${MASK}` : ''}@` : '';
  const query = u.search ? `?${u.search.slice(1).split('&').map(maskParam).join('&')}` : '';
  return `${u.protocol}//${user}${u.host}${u.pathname}${query}${u.hash ? `#${MASK}` : ''}`;
}

/** A hierarchical URL (scheme://…), or undefined: anything else is masked as text. */
function parse(text: string): URL | undefined {
  try {
    const u = new URL(text);
    return text.toLowerCase().startsWith(`${u.protocol}//`) ? u : undefined;
  } catch {
    return undefined;
  }
}

function maskParam(p: string): string {
  if (p === '') return p;
  const eq = p.indexOf('=');
  return eq < 0 ? MASK : `${p.slice(0, eq)}=${MASK}`;
}

function redactUnparsed(text: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
  let rest = text.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = `${MASK}${rest.slice(at)}`;
  const q = rest.search(/[?#]/);
  if (q >= 0) rest = `${rest.slice(0, q + 1)}${MASK}`;
  return scheme + rest;
}

/** The strings redactUrl() hides in a URL, as written and %-decoded, for hideSecrets(). */
export function urlSecrets(text: string): string[] {
  const u = parse(text);
  if (!u) return [];
  const params = u.search.slice(1).split('&').map((p) => p.slice(p.indexOf('=') + 1));
  const raw = [u.username, u.password, u.hash.slice(1), ...params, ...u.searchParams.values()];
  return [...new Set(raw.flatMap((s) => [s, decoded(s)]))].filter(Boolean);
}

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Shorter strings are not searched for in free text: they would mask ordinary words and numbers. */
export const MIN_HIDDEN = 4;

/**
 * A function replacing every occurrence of each secret (of at least MIN_HIDDEN characters) with
 * *** in one pass, longest first, so a secret containing another is hidden whole.
 */
export function hideSecrets(secrets: Iterable<string>): (text: string) => string {
  const list = [...new Set(secrets)].filter((s) => s.length >= MIN_HIDDEN).sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  const re = new RegExp(list.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return (text) => text.replace(re, MASK);
}

/** An http(s) URL setting, parsed; the error names the setting and shows the value redacted. */
export function httpUrl(text: string, from: string, example = ''): URL {
  const shown = `${from}: "${redactUrl(text)}"`;
  const hint = example ? ` (for example ${example})` : '';
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`${shown} is not a URL${hint}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${shown} must be http:// or https://${hint}`);
  return u;
}
