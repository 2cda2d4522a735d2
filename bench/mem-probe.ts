// Diagnostics for `npm run bench:daemon -- --probe`: preloaded into the daemon with
// NODE_OPTIONS=--require, it appends one JSON line a second to $SOCKPULSE_BENCH_PROBE_FILE with
// process.memoryUsage() and V8's heap spaces (MB). Not part of the agent; the default run of the
// benchmark does not load it (it costs a little memory itself). With --alloc-profile FILE
// ($SOCKPULSE_BENCH_ALLOC_PROFILE) it also writes an allocation profile (below).
import * as fs from 'fs';
import * as v8 from 'v8';

const file = process.env.SOCKPULSE_BENCH_PROBE_FILE;
if (file) {
  const MB = 1024 * 1024;
  const t0 = Date.now();
  const fd = fs.openSync(file, 'a');
  const r = (x: number): number => Math.round((x / MB) * 10) / 10;
  setInterval(() => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), r(s.space_size)]));
    const line = { t: Math.round((Date.now() - t0) / 100) / 10, rss: r(m.rss), heapTotal: r(m.heapTotal), heapUsed: r(m.heapUsed), external: r(m.external), arrayBuffers: r(m.arrayBuffers), spaces };
    fs.writeSync(fd, `${JSON.stringify(line)}\n`);
  }, 1000).unref();
}

// With $SOCKPULSE_BENCH_ALLOC_PROFILE (a file): V8's sampling heap profiler, counting objects that
// died too (what a cycle allocates, not only what it keeps), stopped after
// $SOCKPULSE_BENCH_ALLOC_SECONDS (default 30) and written as a .heapprofile (Chrome DevTools format).
const allocFile = process.env.SOCKPULSE_BENCH_ALLOC_PROFILE;
if (allocFile) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const inspector = require('inspector') as typeof import('inspector');
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  void post('HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  setTimeout(() => {
    void post('HeapProfiler.stopSampling').then((r) => fs.writeFileSync(allocFile, JSON.stringify((r as { profile: unknown }).profile)));
  }, Number(process.env.SOCKPULSE_BENCH_ALLOC_SECONDS ?? 30) * 1000).unref();
}
