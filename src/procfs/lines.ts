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

/** Whitespace as `\s` sees it (what `words` splits at), by character code. */
export function isSpace(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 160) return false;
  return c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * `decimal(text.slice(from, to), signed)` without making the slice (the hot path reads numbers in
 * place): the same numbers, the same refusals.
 */
export function decimalAt(text: string, from: number, to: number, signed = false): number | undefined {
  const neg = signed && from < to && text.charCodeAt(from) === 45;
  const start = neg ? from + 1 : from;
  const len = to - start;
  if (len <= 0 || len > 16) return undefined;
  if (len > 15) return decimal(text.slice(from, to), signed); // near 2^53: let Number decide exactly
  let v = 0;
  for (let i = start; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    v = v * 10 + (c - 48);
  }
  return neg ? -v : v;
}

/** Where the line that starts at `from` ends: the index of its '\n', or the text's length. */
export function lineEnd(text: string, from: number): number {
  const e = text.indexOf('\n', from);
  return e < 0 ? text.length : e;
}

/**
 * The words of text[from, to) as `words` finds them, as [start, end) pairs in `spans` (reused by
 * the caller: no word strings are made); returns how many there are.
 */
export function wordSpans(text: string, from: number, to: number, spans: number[]): number {
  let count = 0;
  for (let i = from; i < to; ) {
    while (i < to && isSpace(text.charCodeAt(i))) i++;
    if (i === to) break;
    spans[2 * count] = i;
    while (i < to && !isSpace(text.charCodeAt(i))) i++;
    spans[2 * count + 1] = i;
    count++;
  }
  return count;
}
