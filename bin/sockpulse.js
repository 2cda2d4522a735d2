#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=2: a cycle allocates a few MB of short-lived strings; V8 would otherwise
// grow its young generation to 32 MB for them (measured: live heap ~4 MB). The benchmark runs
// its worker with the flags of this line.
'use strict';
// Exit explicitly once main() is done: a backend that hangs can leave a socket open past the
// sinks' close deadlines, and that must not keep a stopping daemon alive. stdout is flushed first.
require('../dist/src/cli.js').main(process.argv.slice(2)).then((code) => {
  process.stdout.write('', () => process.exit(code));
});
