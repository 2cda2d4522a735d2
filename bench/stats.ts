// Statistics and number formats shared by the bench reports.

export interface Stats {
  median: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentiles. */
export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2, p95: rank(0.95), max: s[s.length - 1] };
}

export function f0(x: number): string {
  return x.toFixed(0);
}

export function f1(x: number): string {
  return x.toFixed(1);
}

export function f2(x: number): string {
  return x.toFixed(2);
}
