// The first sink: each cycle to stdout, as a table or as one JSON document per line.
import { Batch, Sink, SinkResult } from '../../core/model';
import { MetricDef } from '../../core/metrics';
import { batchDocument } from './json-doc';
import { renderTable } from './table';

export class StdoutSink implements Sink {
  readonly name = 'stdout';
  private closed = false;

  constructor(
    private readonly format: 'table' | 'json',
    private readonly catalog: readonly MetricDef[],
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  async start(): Promise<void> {}

  async write(batch: Batch): Promise<SinkResult> {
    if (this.closed) return { status: 'failed', error: 'write after close' };
    const text = this.format === 'json' ? `${JSON.stringify(batchDocument(batch, this.catalog))}\n` : renderTable(batch, this.catalog);
    await new Promise<void>((resolve, reject) => this.out.write(text, (err) => (err ? reject(err) : resolve())));
    return { status: 'ok', sent: batch.results.length };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
