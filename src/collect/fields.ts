// Helpers shared by collectors: combining per-family fields and naming malformed files.

/** A kernel file that exists but does not hold what it must. Counted as a collect error. */
export class MalformedError extends Error {
  readonly code = 'EMALFORMED';
  constructor(readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
  }
}

/** A configured bound was reached: what is beyond it is left out, and said once. */
export class LimitError extends Error {
  readonly code = 'ELIMIT';
}

/**
 * IPv4 part + IPv6 part. When the kernel has no IPv6 at all (`v6file` undefined) the IPv4 part
 * is the whole count. When the IPv6 file exists but lacks the field, the sum would be a guess:
 * absent, not a partial number.
 */
export function sumParts(v4: number | undefined, v6file: unknown, v6: number | undefined): number | undefined {
  if (v4 === undefined) return undefined;
  if (v6file === undefined) return v4;
  return v6 === undefined ? undefined : v4 + v6;
}
