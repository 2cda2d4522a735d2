// What `npm run bench` and `npm run soak` share: the checks before they start (root, the sockmix
// helper) and the description of the run and machine their reports begin with.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.join(__dirname, '..', '..');

/** The sockmix binary's path, or undefined after saying on stderr what is missing. */
export function preflight(tool: string): string | undefined {
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${tool}: must run as root (network namespaces, /proc/<pid>/ns/net of every process)\n`);
    return undefined;
  }
  const sockmix = path.join(ROOT, '.build', 'sockmix');
  if (!fs.existsSync(sockmix)) {
    process.stderr.write(`${tool}: ${sockmix} is missing: run \`bash test/setup/prepare.sh\` first\n`);
    return undefined;
  }
  return sockmix;
}

/** The command as typed, when, and on what machine; `load` is the load average before the run. */
export function runEnvironment(script: string, load: string, startedMs: number) {
  return {
    command: `npm run ${script}${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    kernel: os.release(),
    node: process.version,
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    memGB: Math.round(os.totalmem() / 2 ** 30),
    load,
    runtimeS: (performance.now() - startedMs) / 1000,
  };
}
