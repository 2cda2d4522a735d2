// The first sink: each cycle to stdout, as a table or as one JSON document per line.
// A write error (the reader of a pipe has gone: EPIPE; a full disk: ENOSPC) is this sink's failure
// alone: the cycle's lines are counted as dropped (`write_error`, one per namespace line, as `sent`
// counts), the failure is logged once when it starts (the agent does not repeat it every cycle)
// and once more when stdout works again, and the daemon and the other sinks go on. Each cycle
// tries again: a full disk may be freed. With --once, a reader that has gone (`--once | head`) is
// the normal end of a pipe and is not logged (app/cli.ts exits as a tool ended by SIGPIPE does).
import { Batch, Sink, SinkResult } from '../../core/model';
import { MetricDef } from '../../core/metrics';
import { Logger } from '../../core/log';
import { SinkCounters, countDrop } from '../../core/self-stats';
import { batchDocument } from './json-doc';
import { renderTable } from './table';

export interface StdoutOptions {
  log?: Logger;
  /** This sink's self-stats, made on first use: stdout shows in them once it has failed. */
  counters?: () => SinkCounters;
  /** --once: a reader that has gone is not a warning. */
  once?: boolean;
}

export class StdoutSink implements Sink {
  readonly name = 'stdout';
  private closed = false;
  /** The standing write error, from the first failed write until one succeeds. */
  private failing: string | undefined;
  private c: SinkCounters | undefined;
  private sent = 0;
  private lastSuccess: number | null = null;

  constructor(
    private readonly format: 'table' | 'json',
    private readonly catalog: readonly MetricDef[],
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly opts: StdoutOptions = {},
  ) {
    // Unheard, a write error is thrown as an uncaught exception; the write's callback gets it too.
    out.on('error', () => undefined);
  }

  async start(): Promise<void> {}

  async write(batch: Batch): Promise<SinkResult> {
    if (this.closed) return { status: 'failed', error: 'write after close' };
    const text = this.format === 'json' ? `${JSON.stringify(batchDocument(batch, this.catalog))}\n` : renderTable(batch, this.catalog);
    const err = await new Promise<(Error & { code?: string }) | null | undefined>((resolve) => this.out.write(text, resolve));
    const n = batch.results.length;
    if (!err) {
      this.sent += n;
      this.lastSuccess = Math.floor(Date.now() / 1000);
      if (this.c) [this.c.sent, this.c.last_success] = [this.sent, this.lastSuccess];
      if (this.failing !== undefined) this.opts.log?.info('stdout can be written again');
      this.failing = undefined;
      return { status: 'ok', sent: n };
    }
    const code = err.code ?? 'EIO';
    if (this.failing === undefined) {
      const gone = code === 'EPIPE';
      const msg = `cannot write to stdout (${gone ? 'its reader has gone' : 'write error'}): ${err.message}; the other sinks go on`;
      if (gone && this.opts.once) this.opts.log?.debug({ code }, msg);
      else this.opts.log?.warn({ code }, msg);
    }
    this.failing = `stdout: ${err.message}${err.message.includes(code) ? '' : ` (${code})`}`;
    this.c ??= this.opts.counters && Object.assign(this.opts.counters(), { sent: this.sent, last_success: this.lastSuccess });
    if (this.c) countDrop(this.c, 'write_error', n);
    return { status: 'failed', error: this.failing, logged: true };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
