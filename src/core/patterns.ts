// Include/exclude lists of regular expressions from configuration, compiled once at start.

/** Patterns are anchored: `web` matches "web" only, `web.*` everything starting with it. */
export function anchored(key: string, pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    throw new Error(`${key}: "${pattern}" is not a valid regular expression (${(err as Error).message})`);
  }
}

/**
 * A name filter: kept when it matches one of `include` (or `include` is empty and `emptyMeansAll`)
 * and none of `exclude`. Throws naming the key of a pattern that is not a regular expression.
 */
export function nameFilter(prefix: string, include: readonly string[], exclude: readonly string[], emptyMeansAll: boolean): (name: string) => boolean {
  const inc = include.map((p) => anchored(`${prefix}.include`, p));
  const exc = exclude.map((p) => anchored(`${prefix}.exclude`, p));
  return (name) => (inc.length === 0 ? emptyMeansAll : inc.some((re) => re.test(name))) && !exc.some((re) => re.test(name));
}
