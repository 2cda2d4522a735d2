// The collect stage: every collector over every target, one target at a time, synchronously.
import { Sample, StageError, Target, TargetGoneError, TargetSamples } from '../core/model';
import { ProcReader, errnoCode, isGone, netnsInode } from '../procfs/read';
import { NetFiles } from './netfiles';
import { KeptFiles } from '../procfs/kept';
import { Collector } from './collector';
import { SockstatCollector } from './sockstat';
import { SnmpCollector } from './snmp';
import { SnmpCountersCollector } from './snmp-counters';

export { Collector };

export function defaultCollectors(): Collector[] {
  return [new SockstatCollector(), new SnmpCollector(), new SnmpCountersCollector()];
}

export interface CollectOutcome {
  results: TargetSamples[];
  errors: StageError[];
  /** Targets whose process left (or was replaced) between discovery and reading. */
  skipped: Target[];
}

export class CollectStage {
  private readonly files = new KeptFiles(new ProcReader());

  constructor(
    private readonly procRoot: string,
    private readonly collectors: Collector[] = defaultCollectors(),
  ) {}

  run(targets: Target[]): CollectOutcome {
    const out: CollectOutcome = { results: [], errors: [], skipped: [] };
    for (const target of targets) {
      try {
        const samples = this.collectOne(target, out.errors);
        if (samples.length > 0) out.results.push({ target, samples });
      } catch (err) {
        this.files.forget(NetFiles.identity(target));
        if (err instanceof TargetGoneError) out.skipped.push(target);
        else out.errors.push(toError(err, target));
      }
    }
    this.files.sweep(); // descriptors of targets not read this cycle release their namespaces
    return out;
  }

  /** Releases every kept descriptor (and the namespaces they hold). */
  close(): void {
    this.files.closeAll();
  }

  private collectOne(target: Target, errors: StageError[]): Sample[] {
    const files = new NetFiles(this.files, this.procRoot, target);
    const samples: Sample[] = [];
    for (const c of this.collectors) {
      try {
        samples.push(...c.collect(target, files));
      } catch (err) {
        if (err instanceof TargetGoneError) throw err;
        errors.push(toError(err, target)); // one bad file must not hide the other collectors' numbers
      }
    }
    this.assertSameNamespace(target);
    for (const p of files.problems) errors.push(toError(p, target));
    return samples;
  }

  /**
   * The pid may have exited (a kept descriptor still reads its namespace, see procfs/kept.ts) or
   * been reused by a process in another namespace between discovery and reading; then the numbers
   * belong to no live target. The link is checked again after reading: a different inode (or
   * none) means the target is gone.
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

function toError(err: unknown, target: Target): StageError {
  return {
    stage: 'collect',
    code: (err as { code?: string }).code ?? errnoCode(err),
    message: err instanceof Error ? err.message : String(err),
    subject: `pid ${target.pid} netns ${target.netns}`,
  };
}
