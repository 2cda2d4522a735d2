// Allocation-light line and word splitting for the kernel's small text files (the hot path).

export function forEachLine(text: string, fn: (line: string) => void): void {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    fn(line);
    start = end + 1;
  }
}

/** Whitespace-separated words of `line` from `from` on. */
export function words(line: string, from = 0): string[] {
  const rest = line.slice(from).trim();
  return rest === '' ? [] : rest.split(/\s+/);
}

/**
 * A decimal integer made of digits only (and a leading '-' when `signed`), exactly representable;
 * anything else — '', '-', '1.5', '1e3', '0x2', a counter beyond 2^53 — is undefined.
 */
export function decimal(word: string, signed = false): number | undefined {
  const from = signed && word.charCodeAt(0) === 45 ? 1 : 0;
  if (word.length === from || word.length - from > 16) return undefined;
  for (let i = from; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const n = Number(word);
  return Number.isSafeInteger(n) ? n : undefined;
}
