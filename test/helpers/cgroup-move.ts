// Moves a process into another cgroup in every mounted hierarchy (v1 controllers and v2), as a
// runtime with cgroup paths sockpulse does not know would leave it: its /proc/<pid>/cgroup then
// names no container id. v1 cpuset needs cpus and mems set before it takes a process.
import fs from 'node:fs';
import path from 'node:path';
import { cgroupRoots } from './private-containerd';

/** Moves `pid` to `<each root>/<dir>` (made if missing; remove it after the process is gone). */
export function moveToCgroup(pid: number, dir: string): void {
  for (const root of cgroupRoots()) {
    let parent = root;
    for (const part of dir.split('/').filter(Boolean)) {
      const d = path.join(parent, part);
      fs.mkdirSync(d, { recursive: true });
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        const own = path.join(d, f);
        if (fs.existsSync(own) && fs.readFileSync(own, 'utf8').trim() === '') fs.writeFileSync(own, fs.readFileSync(path.join(parent, f), 'utf8'));
      }
      parent = d;
    }
    fs.writeFileSync(path.join(parent, 'cgroup.procs'), String(pid));
  }
}
