#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=2: a cycle allocates a few MB of short-lived strings; V8 would otherwise
// grow its young generation to 32 MB for them (measured: live heap ~4 MB). The benchmark runs
// its worker with the flags of this line.
'use strict';
require('../dist/src/main.js').run(process.argv.slice(2));
