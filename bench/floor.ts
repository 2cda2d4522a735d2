// Reference point, run in its own process right after the agent's worker: the bare system calls
// a procfs cycle cannot avoid, with no parsing and no objects. Not the agent's code.
//   scan:  readdir /proc + readlink /proc/<pid>/ns/net for every pid
//   files: open/read/close of sockstat, sockstat6, snmp and (with the nf_conntrack module)
//          stat/nf_conntrack + readlink ns/net, per namespace
//   node dist/bench/floor.js --cycles 20 --pids 1,4321,...   → {"scanMs":[…],"filesMs":[…]}
import * as fs from 'fs';
import { parseArgs } from 'util';
import { shortReadIsEndAt } from '../src/procfs/read';

export interface FloorReport {
  scanMs: number[];
  filesMs: number[];
}

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '20' }, pids: { type: 'string', default: '1' } } });
const pids = values.pids!.split(',').map(Number);
const buf = Buffer.allocUnsafe(64 * 1024);
// The conntrack collector (on by default) reads this file when the module is loaded.
const conntrack = fs.existsSync('/proc/self/net/stat/nf_conntrack');

function slurp(path: string): void {
  const fd = fs.openSync(path, 'r');
  try {
    const endBelow = shortReadIsEndAt(path); // read as the agent reads it (src/procfs/read.ts)
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0 && !(n < buf.length && n < endBelow); );
  } finally {
    fs.closeSync(fd);
  }
}

const report: FloorReport = { scanMs: [], filesMs: [] };
for (let i = 0; i < Number(values.cycles); i++) {
  const t0 = performance.now();
  for (const name of fs.readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    try {
      fs.readlinkSync(`/proc/${name}/ns/net`);
    } catch {
      /* exited or a kernel thread without access */
    }
  }
  const t1 = performance.now();
  for (const pid of pids) {
    slurp(`/proc/${pid}/net/sockstat`);
    slurp(`/proc/${pid}/net/sockstat6`);
    slurp(`/proc/${pid}/net/snmp`);
    if (conntrack) slurp(`/proc/${pid}/net/stat/nf_conntrack`);
    fs.readlinkSync(`/proc/${pid}/ns/net`);
  }
  report.scanMs.push(t1 - t0);
  report.filesMs.push(performance.now() - t1);
}
process.stdout.write(`${JSON.stringify(report)}\n`);
