// What `npm run bench` and `npm run soak` both need before they start: root, and the sockmix helper.
import * as fs from 'fs';
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
