// Named network namespaces under /run/netns (`ip netns add`, OpenStack routers and DHCP agents).
// A name is a bind mount of an nsfs inode; its numbers can only be read through a process inside
// it (no setns from Node, and no process is spawned per namespace), so a named namespace with no
// process is counted as skipped.
import * as fs from 'fs';
import { Discovery, DiscoveryResult, StageError } from '../core/model';
import { ProcReader } from '../procfs/read';
import { Member, groupTargets, resolveHost } from './group';
import { scanNamespaces } from './proc-scan';
import { DiscoveryOptions, deniedErrors, failed } from './common';
import { DiscoveryPlugin } from './plugin';

export class NetnsDiscovery implements Discovery {
  readonly name = 'netns';
  private readonly reader = new ProcReader();

  constructor(private readonly opts: DiscoveryOptions & { netnsRoot: string }) {}

  async discover(): Promise<DiscoveryResult> {
    const { procRoot, netnsRoot } = this.opts;
    try {
      const host = resolveHost(this.reader, procRoot);
      const named = listNamed(netnsRoot);
      const scan = scanNamespaces(procRoot);
      const members: Member[] = [];
      const nameOf = new Map<number, string>();
      let skipped = 0;
      for (const [name, inode] of named) {
        const pids = scan.byNetns.get(inode);
        if (inode === host.netns) continue; // a name for the host namespace adds nothing
        const other = nameOf.get(inode);
        if (other !== undefined) {
          nameOf.set(inode, `${other},${name}`); // two names, one namespace: one target
          continue;
        }
        if (!pids) {
          skipped++;
          continue;
        }
        nameOf.set(inode, name);
        members.push(...pids.map((pid) => ({ pid, netns: inode })));
      }
      const targets = groupTargets(members, host, () => 'netns', [], this.reader, procRoot);
      for (const t of targets) {
        const name = nameOf.get(t.netns);
        if (name !== undefined) t.labels.netns_name = name;
      }
      const errors: StageError[] = deniedErrors(scan.denied);
      return { targets, errors, source: this.name, skipped };
    } catch (err) {
      return failed(this.name, err, netnsRoot);
    }
  }
}

/** name → nsfs inode. A missing directory means no named namespaces, not an error. */
function listNamed(root: string): [string, number][] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: [string, number][] = [];
  for (const name of names.sort()) {
    try {
      out.push([name, fs.statSync(`${root}/${name}`).ino]);
    } catch {
      // removed while listing
    }
  }
  return out;
}

export const netns: DiscoveryPlugin<{ root: string }> = {
  name: 'netns',
  doc: 'named namespaces under netns_root (ip netns), read through a process inside each',
  config: {
    path: 'discovery',
    schema: {
      netns_root: {
        doc: 'Directory of named network namespaces (ip netns).',
        format: String,
        default: '/run/netns',
        env: 'SOCKPULSE_NETNS_ROOT',
      },
    },
    resolve: (raw) => ({ root: String(raw.netns_root) }),
  },
  create: (cfg, shared) => new NetnsDiscovery({ ...shared, netnsRoot: cfg.root }),
};
