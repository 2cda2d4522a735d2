// The tick: discover → collect → deliver. A cycle never rejects and always has a deadline; a
// tick that arrives while a cycle is still running is skipped and counted, never queued.
import * as os from 'os';
import { Batch, Discovery, Sink, SinkResult, StageError, Target } from '../core/model';
import { CollectOutcome, CollectStage } from '../collect/stage';
import { Logger } from '../core/log';
import { Interval, alignedTimestamp } from './interval';
import { SelfStats } from '../core/self-stats';

export interface AgentOptions {
  discovery: Discovery;
  collect: CollectStage;
  sinks: Sink[];
  log: Logger;
  hostname: string;
  /** The schedule: its period is each batch's step, and fixed intervals align timestamps. */
  interval: Pick<Interval, 'period' | 'fixed'>;
  cycleTimeoutMs: number;
  /** Shared with the sinks, which count what they send and drop. */
  stats?: SelfStats;
}

export interface DeliveryReport {
  sink: string;
  result: SinkResult;
}

export class Agent {
  private running: Promise<unknown> | undefined;
  /**
   * The running cycle's abandon switch (shutdown: aborts its discovery, reads and pushes before
   * the deadline) and its deadline. The deadline is held here because AbortSignal.any() holds its
   * sources only weakly, and an AbortSignal.timeout() nothing else holds can be garbage-collected
   * before it fires (Node 20): a full GC during a cycle then left it without a deadline, running
   * until its slowest sink gave up (BENCHMARKS.md, "The whole daemon").
   */
  private abandonRunning: { abandon: AbortController; deadline: AbortSignal } | undefined;
  private skippedWhileRunning = 0;
  /** The `max_series` budget dropped series and that was logged (once per agent). */
  private budgetSaid = false;
  /** Unix ms at the end of the last cycle that read at least one namespace (readiness). */
  lastSuccess: number | undefined;
  readonly stats: SelfStats;

  constructor(private readonly o: AgentOptions) {
    this.stats = o.stats ?? new SelfStats();
  }

  /** Ticks skipped because the previous cycle was still running, since start. */
  get ticksSkipped(): number {
    return this.stats.ticksSkipped;
  }

  /** Scheduler entry point: starts a cycle unless one is running. Never throws. */
  tick(at: Date): void {
    if (this.running) {
      this.stats.ticksSkipped++;
      this.skippedWhileRunning++;
      return;
    }
    // runCycle never rejects (each stage is wrapped); the catch is the net under that.
    const cycle = this.runCycle(at).catch((err: unknown) => this.o.log.error({ stage: 'cycle' }, `cycle failed: ${String((err as Error)?.message ?? err)}`));
    this.running = cycle.finally(() => {
      this.running = undefined;
      if (this.skippedWhileRunning > 0) {
        this.o.log.warn({ skipped: this.skippedWhileRunning }, 'a cycle outlasted the interval; ticks were skipped, not queued');
        this.skippedWhileRunning = 0;
      }
    });
  }

  /** A tick the scheduler could not run in time (the event loop was busy past its slot): skipped and counted like one that found a cycle running. */
  missedTick(): void {
    this.stats.ticksSkipped++;
    if (this.running) this.skippedWhileRunning++; // said once when that cycle ends
    else this.o.log.warn({ skipped: 1 }, 'the event loop was busy past a tick; it was skipped, not queued');
  }

  /** Releases what collection holds between cycles (kept proc files, and the namespaces they pin). */
  async close(): Promise<void> {
    this.o.collect.close();
    await this.o.discovery.close?.();
  }

  /** Ends the running cycle now, as its deadline would: pushes under way stop, their points stay buffered. */
  abandon(): void {
    this.abandonRunning?.abandon.abort(new Error('shutting down'));
  }

  /** Resolves when the running cycle (if any) has finished. */
  async idle(): Promise<void> {
    await this.running;
  }

  /** One full cycle. Never rejects: every failure ends up in the batch's errors or the log. */
  async runCycle(at: Date = new Date()): Promise<{ batch: Batch; deliveries: DeliveryReport[] }> {
    const abandon = new AbortController();
    const deadline = AbortSignal.timeout(this.o.cycleTimeoutMs);
    this.abandonRunning = { abandon, deadline };
    const signal = AbortSignal.any([deadline, abandon.signal]);
    const t0 = performance.now();
    // Through then(): a discover() that throws instead of rejecting is caught the same way.
    const found = await withDeadline(Promise.resolve().then(() => this.o.discovery.discover(signal)), signal).catch(
      (err): Awaited<ReturnType<Discovery['discover']>> => ({
        targets: [],
        errors: [{ stage: 'discover', code: signal.aborted ? 'ETIMEDOUT' : 'EDISCOVER', message: String((err as Error)?.message ?? err) }],
        source: this.o.discovery.name,
        skipped: 0,
      }),
    );
    const t1 = performance.now();
    const collected = this.collect(found.targets);
    const t2 = performance.now();

    for (const t of collected.skipped) this.o.log.debug({ pid: t.pid, netns: t.netns }, 'target left before it could be read; skipped');
    const errors: StageError[] = [...found.errors, ...collected.errors];
    this.stats.errors.discover += found.errors.length;
    this.stats.errors.collect += collected.errors.length;
    for (const [name, c] of Object.entries(collected.collectors)) {
      if (c.errors > 0) this.stats.collectorErrors.set(name, (this.stats.collectorErrors.get(name) ?? 0) + c.errors);
      else if (!this.stats.collectorErrors.has(name)) this.stats.collectorErrors.set(name, 0);
    }
    this.countSeries(collected);
    this.stats.cycles++;
    for (const e of errors) this.o.log.warn({ stage: e.stage, code: e.code, subject: e.subject }, e.message);

    const batch: Batch = {
      timestamp: alignedTimestamp(at, this.o.interval),
      step: this.o.interval.period,
      host: this.o.hostname,
      kernel: os.release(),
      cycle: {
        discover_ms: round(t1 - t0),
        collect_ms: round(t2 - t1),
        targets: collected.results.length,
        skipped: found.skipped + collected.skipped.length,
        errors: errors.length,
        discovery: found.source,
        collectors: collected.collectors,
      },
      results: collected.results,
      errors,
      self: this.stats.snapshot(),
      ...(collected.flows ? { flows: collected.flows } : {}),
    };
    const t3 = performance.now();
    if (batch.results.length > 0) this.lastSuccess = Date.now();
    const deliveries = await this.deliver(batch, signal);
    this.stats.deliverMs = round(performance.now() - t3);
    this.stats.errors.deliver += deliveries.filter((d) => d.result.status !== 'ok').length;
    return { batch, deliveries };
  }

  /** Collectors' one-time notices, and the series the `max_series` budget dropped: counted always, said once. */
  private countSeries(collected: CollectOutcome): void {
    for (const n of collected.notices) this.o.log.info({ collector: n.collector }, n.message);
    const dropped = Object.entries(collected.collectors).filter(([, c]) => c.dropped > 0);
    for (const [name, c] of Object.entries(collected.collectors)) {
      this.stats.collectorSeriesDropped.set(name, (this.stats.collectorSeriesDropped.get(name) ?? 0) + c.dropped);
    }
    if (dropped.length > 0 && !this.budgetSaid) {
      this.budgetSaid = true;
      const made = Object.values(collected.collectors).reduce((n, c) => n + c.series, 0);
      this.o.log.warn(
        { made, dropped: Object.fromEntries(dropped.map(([name, c]) => [name, c.dropped])) },
        `this cycle made ${made} series, more than max_series allows: the lowest-priority collectors' excess was dropped (said once; counted in the self-metric collector.series_dropped)`,
      );
    }
  }

  /** The collect stage; one that throws (a bug, a descriptor it cannot close) is a stage error, never a rejected cycle. */
  private collect(targets: Target[]): CollectOutcome {
    try {
      return this.o.collect.run(targets);
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      const message = String((err as Error)?.message ?? err);
      return { results: [], skipped: [], errors: [{ stage: 'collect', code: typeof code === 'string' ? code : 'ECOLLECT', message }], collectors: {}, notices: [] };
    }
  }

  /** Every sink gets the batch at once; one slow or failing sink cannot hold up another. */
  private async deliver(batch: Batch, signal: AbortSignal): Promise<DeliveryReport[]> {
    return Promise.all(
      this.o.sinks.map(async (sink): Promise<DeliveryReport> => {
        let result: SinkResult;
        try {
          result = await withDeadline(sink.write(batch, signal), signal);
        } catch (err) {
          result = { status: signal.aborted ? 'retryable' : 'failed', error: String((err as Error)?.message ?? err) };
        }
        if (result.status !== 'ok' && !result.logged) this.o.log.warn({ stage: 'deliver', sink: sink.name, status: result.status }, result.error);
        return { sink: sink.name, result };
      }),
    );
  }
}

/** Rejects when the signal aborts, even if `p` ignores it. */
function withDeadline<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('cycle deadline passed'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('cycle deadline passed'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
