// The whole procfs pipeline (discovery → collection → JSON document) over a fixture proc tree
// of real kernel text (test/fixtures/proctree/README.md), compared with a golden file.
// After an intended change: UPDATE_GOLDEN=1 npx jest test/unit/golden.test.ts, and review the diff.
import { ALL_METRICS } from '../helpers/metrics';
import * as fs from 'fs';
import * as path from 'path';
import { fixturePipeline } from '../helpers/pipeline';
import { batchDocument } from '../../src/deliver/stdout/json-doc';
import { renderTable } from '../../src/deliver/stdout/table';

const GOLDEN = path.join(__dirname, '..', 'fixtures', 'golden');

async function cycle() {
  const agent = fixturePipeline();
  const { batch } = await agent.runCycle(new Date(1_700_000_059_000));
  // Only what depends on the machine running the test is pinned.
  batch.kernel = '6.18.44-fixture';
  batch.cycle.discover_ms = 0;
  batch.cycle.collect_ms = 0;
  for (const c of Object.values(batch.cycle.collectors)) c.ms = 0;
  return batch;
}

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, actual);
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}

describe('procfs pipeline on a fixture proc tree', () => {
  it('produces the golden JSON document', async () => {
    golden('proctree.json', `${JSON.stringify(batchDocument(await cycle(), ALL_METRICS), null, 2)}\n`);
  });

  it('produces the golden table', async () => {
    golden('proctree.txt', renderTable(await cycle(), ALL_METRICS));
  });

  // The golden file is reviewed by eye; these are the facts it must hold, asserted by name.
  it('keeps host-wide numbers on the host and absent values absent', async () => {
    const doc = batchDocument(await cycle(), ALL_METRICS) as {
      host_wide: Record<string, number>;
      targets: { pid: number; scope: string; stats: Record<string, number | null> }[];
      cycle: { skipped: number; errors: number };
    };
    const byPid = new Map(doc.targets.map((t) => [t.pid, t]));
    // timewait and total are host-wide only on kernels before 4.11/4.16; conntrack_max needs the module (not in the tree)
    expect(doc.host_wide).toEqual({ orphan: 0, tcp_alloc: 1, tcp_mem_pages: 142, udp_mem_pages: 0, timewait: null, total: null, conntrack_max: null });
    // The host's sockstat says orphan 0: no namespace has an orphan, so each one's is exactly 0
    // without reading a socket table (the fixture tree has none).
    expect(byPid.get(300)!.stats).toEqual({ established: 11, inuse: 15, timewait: 3, orphan: 0, total: 18, udp: 3 });
    expect(byPid.get(400)!.stats.orphan).toBe(0); // its sockstat's orphan 7 is not the pod's: the host-wide count comes from the host target
    expect(byPid.get(500)!.stats).toMatchObject({ inuse: 10, udp: 2 }); // no sockstat6: the IPv4 parts are whole
    expect(byPid.get(600)!.stats).toEqual({ established: 11, inuse: null, timewait: null, orphan: 0, total: 3, udp: null });
    expect(byPid.has(700)).toBe(false); // host-network process: part of the host target
    expect(byPid.has(800)).toBe(false); // vanished: skipped
    expect(doc.cycle).toMatchObject({ skipped: 1, errors: 1 });
    expect(doc.targets.filter((t) => t.scope === 'host')).toHaveLength(1);
  });
});
