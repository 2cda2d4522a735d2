// What every sink is given besides its own configuration section.
import { Logger } from '../core/log';
import { SinkCounters } from '../core/self-stats';

export interface SinkContext {
  log: Logger;
  /** This sink's self-metrics: add to sent/retried/invalid/dropped/buffered/last_success. */
  counters: SinkCounters;
  /** Host name of this agent (config `hostname` or the machine's). */
  hostname: string;
  /** The collection interval in seconds (60 for cron schedules): Open-Falcon's `step`. */
  stepSeconds: number;
  /** sockpulse's version (package.json), for OTLP's service.version. */
  version: string;
  /** docker.copy_labels: further label keys targets may carry. */
  copyLabels: readonly string[];
}
