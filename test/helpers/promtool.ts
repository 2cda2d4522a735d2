// `promtool check metrics` (Debian's prometheus package, test/setup/deps-prometheus.sh) on an
// exposition, and a small strict reader of the text format to assert exact series.
import { spawnSync } from 'node:child_process';
import { ToolGate, requireTool } from './env';

const INSTALL = 'run `bash test/setup/deps-prometheus.sh` as root (Debian\'s prometheus package)';
let gate: ToolGate | undefined;

/**
 * Gate for tests that run promtool (env.ts requireTool): they run when it is installed; when it is
 * not, the suite fails under CI=true or as root, and the tests are skipped loudly elsewhere.
 */
export function promtool(): ToolGate {
  gate ??= requireTool('promtool', spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0, INSTALL);
  return gate;
}

/**
 * Problems promtool finds in `text`: parse errors and lint findings, one per line; [] when clean.
 * promtool exits 0 when clean, 3 on lint problems, 1 on parse errors.
 */
export function promtoolProblems(text: string | Buffer): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`promtool: ${r.error.message}${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? `: ${INSTALL}` : ''}`);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  if (r.status !== 0 && lines.length === 0) return [`promtool exited ${r.status ?? r.signal} without a message`];
  return r.status === 0 ? [] : lines;
}

export interface Family {
  help?: string;
  type?: string;
  samples: { labels: Record<string, string>; value: string }[];
}

/**
 * The text format, read strictly (the subset prom-client writes): `# HELP`, `# TYPE`, then
 * `name{l="v",…} value` lines. Label values are unescaped (\\, \", \n). Throws on anything else,
 * and on a series that appears twice (promtool 2.42 does not check that).
 */
export function parseExposition(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  const seen = new Set<string>();
  const fam = (name: string): Family => {
    let f = out.get(name);
    if (!f) out.set(name, (f = { samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'HELP') fam(m[2]).help = m[3];
      else fam(m[2]).type = m[3];
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/s.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line.slice(0, 200))}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    const body = m[2] ?? '';
    while (re.lastIndex < body.length) {
      const l = re.exec(body);
      if (!l) throw new Error(`bad labels at ${re.lastIndex}: ${JSON.stringify(body.slice(0, 200))}`);
      if (l[1] in labels) throw new Error(`label ${l[1]} twice in ${m[1]}`);
      labels[l[1]] = l[2].replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    const key = `${m[1]}{${m[2] ?? ''}}`;
    if (seen.has(key)) throw new Error(`series twice: ${key.slice(0, 200)}`);
    seen.add(key);
    fam(m[1]).samples.push({ labels, value: m[3] });
  }
  return out;
}
