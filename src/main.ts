// The entry point (bin/sockpulse.js): runs the command line (app/cli.ts) and exits with its code.
// The exit is explicit once main() is done: a backend that hangs can leave a socket open past the
// sinks' close deadlines, and that must not keep a stopping daemon alive. stdout is flushed first.
import { main } from './app/cli';

export { main };

export function run(argv: string[]): void {
  // A write error on stdout or stderr (a reader that has gone, a full disk) is its writer's to
  // handle (the stdout sink, the logger); unheard, it would end the process as an uncaught exception.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  void main(argv).then((code) => {
    process.stdout.write('', () => process.exit(code));
  });
}
