// Where the checkout, its build folder and the test run's files are, and the names the helpers give
// what they make. No jest here: the benches (bench/discovery.ts) load the runtime helpers too.
import fs from 'node:fs';
import path from 'node:path';

/** The checkout's root: the nearest folder up with a package.json (also from dist/test/helpers, which the benches load). */
export const REPO_ROOT = ((dir: string): string => {
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = path.dirname(dir);
  }
  return dir;
})(__dirname);
export const BUILD_DIR = path.join(REPO_ROOT, '.build');
/** Fixed-path copy of the run's environment (the latest run wins). */
export const ENV_FILE = path.join(BUILD_DIR, 'test-env.json');
/** global-setup sets this to its own run's file, so concurrent runs never mix engines. */
export const ENV_VAR = 'SOCKPULSE_TEST_ENV';

/** Tag of the locally imported test image. */
export const TEST_IMAGE = 'sockpulse-test:latest';
/** Label put on every container the helpers start (`sockpulse.test=1`). */
export const TEST_LABEL = 'sockpulse.test';
