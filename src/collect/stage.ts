// The collect stage: every enabled collector over every target, one target at a time,
// synchronously (a read never yields; see procfs/read.ts). Each collector's time and errors are
// measured here, not by the collector, and every sample is checked against what its collector
// declared: an undeclared metric, or a host-wide one on a container, is a programming error
// reported as a collect error, never emitted and never dropped silently.
import * as fs from 'fs';
import { Sample, StageError, Target, TargetGoneError, TargetSamples } from '../core/model';
import { MetricDef } from '../core/metrics';
import { FlowInterval } from '../core/flows';
import { sectionDefaults } from '../core/config-section';
import { ProcReader, errnoCode, isGone, netnsInode } from '../procfs/read';
import { KeptFiles } from '../procfs/kept';
import { NetFiles } from './netfiles';
import { AnyCollectorPlugin, Collector, DEFAULT_PRIORITY } from './collector';
import { applySeriesBudget } from './series-budget';
import { COLLECTORS } from './registry';

export interface CollectOutcome {
  results: TargetSamples[];
  errors: StageError[];
  /** Targets whose process left (or was replaced) between discovery and reading. */
  skipped: Target[];
  /**
   * Per collector: milliseconds over all targets, errors, series made and series the budget
   * dropped, and targets it left without a value (time budget), this cycle.
   */
  collectors: Record<string, { ms: number; errors: number; series: number; dropped: number; unresolved?: number }>;
  /** What collectors had to say once (see Collector.takeNotices). */
  notices: { collector: string; message: string }[];
  /** The flows collector's records of this cycle (Collector.flowInterval), for the batch. */
  flows?: FlowInterval;
}

/** An enabled collector, built from its plugin and resolved configuration. */
export interface ActiveCollector {
  name: string;
  collector: Collector;
  declared: ReadonlySet<MetricDef>;
  priority: number;
  /** Keys of the metric families it declared (a generated member names its family). */
  families: ReadonlySet<string>;
}

export function activeCollector(plugin: AnyCollectorPlugin, cfg?: unknown): ActiveCollector {
  return {
    name: plugin.name,
    collector: plugin.create(cfg),
    declared: new Set(plugin.metrics),
    priority: plugin.priority ?? DEFAULT_PRIORITY,
    families: new Set((plugin.families ?? []).map((f) => f.family ?? f.key)),
  };
}

/** The collectors that are on by default, with no configuration (tests, benchmarks). */
export function defaultCollectors(): ActiveCollector[] {
  return COLLECTORS.filter((p) => p.defaultEnabled).map((p) => activeCollector(p, p.config?.resolve(sectionDefaults(p.config.schema), {})));
}

export class CollectStage {
  private readonly files = new KeptFiles(new ProcReader());

  constructor(
    private readonly procRoot: string,
    private readonly collectors: readonly ActiveCollector[] = defaultCollectors(),
    /** Most series one cycle may produce (`max_series`); 0: no limit. */
    private readonly maxSeries = 0,
  ) {}

  run(targets: Target[]): CollectOutcome {
    const out: CollectOutcome = { results: [], errors: [], skipped: [], collectors: {}, notices: [] };
    const time = this.collectors.map(() => 0);
    const errs = this.collectors.map(() => 0);
    // One NetFiles per target for the whole cycle when a collector plans across targets (what the
    // plan read is not read again); otherwise made and dropped target by target.
    const shared = new Map<Target, NetFiles>();
    const filesOf = (t: Target): NetFiles => {
      let f = shared.get(t);
      if (!f) shared.set(t, (f = new NetFiles(this.files, this.procRoot, t)));
      return f;
    };
    this.collectors.forEach((c, i) => {
      if (!c.collector.plan) return;
      const t0 = performance.now();
      try {
        const found = c.collector.plan(targets, filesOf, this.procRoot) ?? [];
        errs[i] += found.length;
        out.errors.push(...found);
      } catch (err) {
        errs[i]++;
        out.errors.push({ stage: 'collect', code: errnoCode(err), message: `collector ${c.name}: ${err instanceof Error ? err.message : String(err)}`, subject: c.name });
      } finally {
        time[i] += performance.now() - t0;
      }
      const flows = c.collector.flowInterval?.();
      if (flows) out.flows = flows;
    });
    /** Targets read through kept descriptors only: whether their process lives is asked once, below. */
    const kept: Target[] = [];
    for (const target of targets) {
      try {
        const files = filesOf(target);
        const samples = this.collectOne(target, files, out.errors, time, errs);
        if (files.opened) this.assertSameNamespace(target);
        else kept.push(target);
        if (samples.length > 0) out.results.push({ target, samples });
      } catch (err) {
        this.files.forget(NetFiles.identity(target));
        if (err instanceof TargetGoneError) out.skipped.push(target);
        else out.errors.push(toError(err, target));
      }
      shared.delete(target);
    }
    this.dropExited(kept, out);
    this.files.sweep(); // descriptors of targets not read this cycle release their namespaces
    const count = applySeriesBudget(out.results, this.collectors, this.maxSeries);
    this.collectors.forEach((c, i) => {
      const unresolved = c.collector.unresolved?.();
      out.collectors[c.name] = {
        ms: Math.round(time[i] * 100) / 100,
        errors: errs[i],
        series: count.series[c.name],
        dropped: count.dropped[c.name],
        ...(unresolved !== undefined ? { unresolved } : {}),
      };
      for (const message of c.collector.takeNotices?.() ?? []) out.notices.push({ collector: c.name, message });
    });
    return out;
  }

  /** Releases every kept descriptor (and the namespaces they hold). */
  close(): void {
    this.files.closeAll();
  }

  private collectOne(target: Target, files: NetFiles, errors: StageError[], time: number[], errs: number[]): Sample[] {
    const samples: Sample[] = [];
    // One clock read per collector: each one's time runs from where the previous one's ended.
    let t = performance.now();
    for (let i = 0; i < this.collectors.length; i++) {
      const c = this.collectors[i];
      const seen = files.problems.length;
      try {
        const made = c.collector.collect(target, files);
        for (let k = 0; k < made.length; k++) {
          const s = made[k];
          // Fast path: a declared per-namespace metric (nearly every sample) needs no other check.
          const wrong = c.declared.has(s.def) && s.def.scope === 'namespace' && s.labels === undefined && s.def.labels === undefined ? undefined : misdeclared(c, s, target);
          if (wrong) {
            errs[i]++;
            errors.push({ stage: 'collect', code: 'EUNDECLARED', message: `collector ${c.name}: ${wrong}`, subject: c.name });
          } else samples.push(s);
        }
      } catch (err) {
        if (err instanceof TargetGoneError) throw err;
        errs[i]++;
        errors.push(toError(err, target)); // one bad file must not hide the other collectors' numbers
      } finally {
        const now = performance.now();
        time[i] += now - t;
        t = now;
      }
      errs[i] += files.problems.length - seen;
    }
    for (const p of files.problems) errors.push(toError(p, target));
    return samples;
  }

  /**
   * Targets read through kept descriptors only read their own namespace whatever happened to the
   * pid since (procfs/kept.ts), so the one question left is whether the process still lives, asked
   * for all of them with one readdir of the proc root after reading (~1 ms at 1000 namespaces,
   * where reading each one's ns/net link again cost ~8 ms). One whose pid is gone is a skip: its
   * numbers are dropped and its descriptors closed. (A pid reused within the cycle would pass; the
   * numbers are still its namespace's own.)
   */
  private dropExited(kept: Target[], out: CollectOutcome): void {
    if (kept.length === 0) return;
    let live: Set<string>;
    try {
      live = new Set(fs.readdirSync(this.procRoot));
    } catch (err) {
      out.errors.push({ stage: 'collect', code: errnoCode(err), message: `cannot list ${this.procRoot}: ${(err as Error).message}`, subject: this.procRoot });
      return;
    }
    const gone = new Set(kept.filter((t) => !live.has(String(t.pid))));
    if (gone.size === 0) return;
    for (const t of gone) {
      this.files.forget(NetFiles.identity(t));
      out.skipped.push(t);
    }
    out.results = out.results.filter((r) => !gone.has(r.target));
  }

  /**
   * The pid may have exited or been reused by a process in another namespace between discovery
   * and reading; then the numbers belong to no live target. For a target with a file opened this
   * cycle the link is checked again after reading: a different inode (or none) means the target
   * is gone.
   */
  private assertSameNamespace(target: Target): void {
    let inode: number;
    try {
      inode = netnsInode(this.procRoot, target.pid);
    } catch (err) {
      if (isGone(err)) throw new TargetGoneError(target.pid, err);
      throw err;
    }
    if (inode !== target.netns) throw new TargetGoneError(target.pid);
  }
}

/** Why a sample may not be emitted, or undefined when it may. */
function misdeclared(c: ActiveCollector, s: Sample, target: Target): string | undefined {
  if (!c.declared.has(s.def) && !(s.def?.family !== undefined && c.families.has(s.def.family))) {
    return `emitted ${s.def?.key ?? String(s.def)}, which it did not declare`;
  }
  if (s.def.scope === 'host' && target.scope !== 'host') return `emitted the host-wide ${s.def.key} for a ${target.scope} target`;
  if (s.def.scope === 'agent') return `emitted the agent metric ${s.def.key}`;
  if (s.labels || s.def.labels) {
    // A sample's own labels are exactly those its definition declares (sinks name them from there).
    const own = s.labels ?? {};
    const keys = Object.keys(own);
    const declared = s.def.labels ?? [];
    if (keys.length !== declared.length || declared.some((l) => !Object.hasOwn(own, l.key))) {
      return `emitted ${s.def.key} with labels ${keys.join(', ') || '(none)'}; its definition declares ${declared.map((l) => l.key).join(', ') || 'none'}`;
    }
  }
  return undefined;
}

function toError(err: unknown, target: Target): StageError {
  return {
    stage: 'collect',
    code: (err as { code?: string }).code ?? errnoCode(err),
    message: err instanceof Error ? err.message : String(err),
    subject: `pid ${target.pid} netns ${target.netns}`,
  };
}
