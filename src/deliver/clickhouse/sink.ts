// ClickHouse sink: each batch's flow records (Batch.flows, from the flows collector) become rows
// of network_flows_0 (rows.ts), cut into INSERTs of `batch_size` rows, kept as JSONEachRow text in
// the shared PushQueue (bounded in bytes, compressed, retried with backoff, drops counted by
// reason, in rows) and inserted with @clickhouse/client over HTTP. With `create_table` the table
// is created (IF NOT EXISTS) before the first insert, and again after a failed attempt at it.
// The metric samples of the batch are not this sink's: Open-Falcon, StatsD, OTLP and Prometheus
// carry the flows' aggregated counters.
// Secrets: the password and the URL's credentials never reach a log line or an error (the URL is
// shown redacted; server text is searched for them first).
import { createClient, ClickHouseClient, ClickHouseClientConfigOptions, ClickHouseLogLevel } from '@clickhouse/client';
import { Batch, CloseReason, Handover, Sink, SinkResult } from '../../core/model';
import { countDrop } from '../../core/self-stats';
import { hideSecrets, redactUrl, urlSecrets } from '../../core/secrets';
import { SinkContext } from '../plugin';
import { KeptPayload, PushQueue, SendOutcome } from '../push-queue';
import { deprecatedBufferPoints } from '../delivery';
import { ClickHouseConfig, RowContext } from './settings';
import { COLUMN_NAMES, createTableSql, ident } from './table';
import { intervalRows, jsonEachRowChunks } from './rows';
import { errorOutcome } from './outcome';
import { maybeLostAnswer, probeRefusal } from './auth-probe';

/** What a test may put in place of the HTTP connection (chdb's in-process connection). */
export interface ClickHouseSinkOptions {
  connection?: ClickHouseClientConfigOptions['connection'];
}

export class ClickHouseSink implements Sink {
  readonly name = 'clickhouse';
  private readonly client: ClickHouseClient;
  private readonly queue: PushQueue;
  private readonly hide: (text: string) => string;
  private readonly rowCtx: RowContext;
  private readonly target: string;
  /** The table is known to exist (created, or create_table is off and it is the user's). */
  private tableReady: boolean;
  private closed = false;

  constructor(private readonly cfg: ClickHouseConfig, private readonly ctx: SinkContext, opts: ClickHouseSinkOptions = {}) {
    this.hide = hideSecrets([cfg.password, ...urlSecrets(cfg.url)]);
    this.rowCtx = { ...cfg.rows, node: ctx.hostname };
    this.target = `${ident(cfg.database)}.${ident(cfg.table)}`;
    this.tableReady = !cfg.createTable;
    this.client = createClient({
      url: cfg.url,
      username: cfg.user,
      password: cfg.password,
      database: cfg.database,
      application: `sockpulse/${ctx.version}`,
      request_timeout: cfg.timeoutMs,
      compression: { request: cfg.compression, response: false },
      // One insert a cycle: no idle socket for the server to close under us.
      keep_alive: { enabled: false },
      // The client would print failures to the console itself; the sink reports them (once).
      log: { level: ClickHouseLogLevel.OFF },
      ...(opts.connection ? { connection: opts.connection } : {}),
    });
    this.queue = new PushQueue({
      send: (body, _rows, signal) => this.insert(body, signal),
      counters: ctx.counters,
      ...cfg.delivery,
    });
  }

  /** Payloads are JSONEachRow rows of one dialect: a replacement with the other cannot insert them. */
  get encoding(): string {
    return `clickhouse/jsoneachrow/${this.cfg.schema}`;
  }

  async handOver(): Promise<Handover> {
    this.closed = true;
    await this.queue.idle();
    const payloads = this.queue.takeAll();
    await this.client.close();
    return { encoding: this.encoding, payloads };
  }

  adopt(h: Handover): void {
    if (h.encoding === this.encoding) this.queue.adopt(h.payloads as KeptPayload[]);
  }

  async start(): Promise<void> {
    const { url, user, database, table, schema, createTable, compression, batchSize } = this.cfg;
    this.ctx.log.info({ url: redactUrl(url), user, database, table, schema, create_table: createTable, compression, batch_size: batchSize }, 'ClickHouse sink ready');
    const deprecated = deprecatedBufferPoints(this.name, this.cfg.delivery);
    if (deprecated) this.ctx.log.warn(deprecated);
  }

  async write(batch: Batch, signal: AbortSignal): Promise<SinkResult> {
    if (this.closed) return { status: 'failed', error: 'write after close' };
    if (batch.flows) {
      const rows = intervalRows(batch.flows, this.rowCtx, this.cfg.schema);
      for (const chunk of jsonEachRowChunks(rows, this.cfg.batchSize)) this.queue.push(chunk.body, chunk.rows);
    }
    return this.queue.drain(signal);
  }

  /** One last drain, bounded by the timeout; rows still buffered then are counted as dropped, reason `why`. */
  async close(why: CloseReason = 'shutdown'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drain(AbortSignal.timeout(this.cfg.timeoutMs), { ignoreBackoff: true });
    const left = this.queue.bufferedPoints;
    if (left > 0) {
      countDrop(this.ctx.counters, why, left);
      this.ctx.log.warn({ rows: left, reason: why }, `ClickHouse unreachable at ${why}; buffered rows dropped`);
    }
    await this.client.close();
  }

  /** One attempt: the table first when it is ours to create, then one INSERT of the payload's rows. */
  private async insert(body: Buffer, cycle: AbortSignal): Promise<SendOutcome> {
    const signal = AbortSignal.any([cycle, AbortSignal.timeout(this.cfg.timeoutMs)]);
    if (!this.tableReady) {
      try {
        await this.client.command({ query: createTableSql(this.cfg.database, this.cfg.table, this.cfg.schema), abort_signal: signal });
        this.tableReady = true;
      } catch (err) {
        const out = await this.explain(err, signal);
        if (out.status === 'ok') return out;
        const hint = this.cfg.schema === 'modern' ? ' (a server older than 22.x needs sinks.clickhouse.schema: legacy)' : '';
        return { ...out, error: `CREATE TABLE ${this.target} failed: ${out.error}${out.status === 'failed' ? hint : ''}` };
      }
    }
    // JSON formats take objects from the client: the kept JSONEachRow lines are parsed back (the
    // client writes them out again unchanged).
    const values = body.toString('utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      await this.client.insert({ table: this.target, values, format: 'JSONEachRow', columns: [...COLUMN_NAMES] as [string, ...string[]], abort_signal: signal });
      return { status: 'ok' };
    } catch (err) {
      return this.explain(err, signal);
    }
  }

  /** The outcome of a failed request; after a reset, a bodiless probe tells a refusal (auth-probe.ts). */
  private async explain(err: unknown, signal: AbortSignal): Promise<SendOutcome> {
    const where = { table: this.target, createTable: this.cfg.createTable };
    if (maybeLostAnswer(err) && !signal.aborted) {
      const refusal = await probeRefusal(this.cfg.url, this.cfg.user, this.cfg.password, signal, this.cfg.timeoutMs);
      if (refusal !== undefined) {
        const out = errorOutcome(new Error(refusal), this.hide, where);
        if (out.status === 'failed' && out.reason === 'auth') return out;
      }
    }
    return errorOutcome(err, this.hide, where);
  }
}
