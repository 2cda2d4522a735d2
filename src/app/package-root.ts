// The package's folder: the nearest one above this module holding a package.json, whether it runs
// built (dist/src/) or from source (src/, under Jest).
import * as fs from 'fs';
import * as path from 'path';

export function packageRoot(dir: string = __dirname): string {
  if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  const up = path.dirname(dir);
  if (up === dir) throw new Error(`no package.json above ${__dirname}`);
  return packageRoot(up);
}
