// Warm cost of each default collector on the namespaces that exist on this host right now
// (`npm run build && node dist/bench/collectors.js`, as root): procfs discovery once, one cold
// collect cycle (opens the kept files), then 5 warm cycles; prints the median cycle and its
// per-collector milliseconds, next to a stage with only sockstat and snmp (the six statistics).
import { CollectStage, defaultCollectors } from '../src/collect/stage';
import { ProcfsDiscovery } from '../src/discover/procfs';

async function main(): Promise<void> {
  const d = new ProcfsDiscovery({ procRoot: '/proc', copyLabels: [], filter: () => true, hasIncludeFilter: false });
  const { targets } = await d.discover();
  const all = defaultCollectors();
  const six = all.filter((c) => c.name === 'sockstat' || c.name === 'snmp');
  for (const [name, cs] of [['default collectors', all], ['sockstat + snmp only', six]] as const) {
    const stage = new CollectStage('/proc', cs);
    stage.run(targets);
    const runs: [number, Record<string, { ms: number }>][] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const out = stage.run(targets);
      runs.push([performance.now() - t0, out.collectors]);
    }
    stage.close();
    runs.sort((a, b) => a[0] - b[0]);
    const [ms, per] = runs[2];
    const each = Object.entries(per).map(([c, v]) => `${c} ${v.ms} ms (${((v.ms / targets.length) * 1000).toFixed(0)} µs/ns)`).join(', ');
    console.log(`${name}: ${targets.length} namespaces, warm median ${ms.toFixed(1)} ms: ${each}`);
  }
}

void main();
