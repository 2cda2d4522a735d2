// Test environment of every suite: jest's node environment, plus a full garbage collection after
// each test file.
//
// Why: once the run is over, jest-worker gives each worker 500 ms to exit before it kills it and
// prints "A worker process has failed to exit gracefully and has been force exited…". Nothing is
// left open then (the worker's 'exit' event fires within ~30 ms of the end request: no handle,
// timer or child keeps it), but Node frees the whole V8 heap on its way out, and a worker that ran
// a dozen suites without a full collection holds 300–500 MB, mostly garbage (collected, the unit
// workers keep ~130 MB). Freeing that takes 0.4–1 s on a loaded 2-core machine. Collecting after
// each file keeps the heap at what is live, and the workers exit in well under 500 ms.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import NodeEnvironment from 'jest-environment-node';

// `gc` without --expose-gc on the command line (jest forks its workers with the parent's flags).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export default class CollectingNodeEnvironment extends NodeEnvironment {
  async teardown(): Promise<void> {
    await super.teardown();
    gc();
  }
}
