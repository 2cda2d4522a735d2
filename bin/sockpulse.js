#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=20
// --max-semi-space-size=2: a cycle allocates a few MB of short-lived strings; V8 would otherwise
// grow its young generation to 32 MB for them (measured: live heap ~4 MB). What a cycle keeps
// until its sinks are done (the batch, its points, the lines and requests in flight) is promoted
// and dies in the old generation, which V8 lets grow to ~4 times the live heap before a full GC
// (~70 MB against ~18 MB live at 1000 namespaces); --heap-growing-percent=20 collects it at 1.2
// times instead (VmHWM 164 -> 113 MB at 1000 namespaces and --interval 2, for ~25 % more CPU:
// BENCHMARKS.md, "The whole daemon"). The benchmarks run their worker with the flags of this
// line; the container image's ENTRYPOINT repeats them.
'use strict';
require('../dist/src/main.js').run(process.argv.slice(2));
