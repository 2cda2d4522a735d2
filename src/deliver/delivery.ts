// The buffer and retry keys every push sink has (`sinks.<name>.buffer_points`, `attempts`,
// `backoff_initial`, `backoff_max`), their schema and their resolved form for the PushQueue.
import { SectionSchema } from '../core/config-section';
import { PushQueueOptions } from './push-queue';

export type DeliveryOptions = Pick<PushQueueOptions<unknown>, 'maxPoints' | 'backoff' | 'attemptsPerDrain'>;

/** The keys, with environment names `${env}_BUFFER_POINTS` and so on. */
export function deliverySchema(env: string): SectionSchema {
  return {
    buffer_points: {
      doc: 'Points kept while the backend is unreachable; beyond this the oldest are dropped (and counted).',
      format: 'positive-int',
      default: 100000,
      env: `${env}_BUFFER_POINTS`,
    },
    attempts: {
      doc: 'Attempts at one payload within a cycle before it waits for the next cycle.',
      format: 'positive-int',
      default: 3,
      env: `${env}_ATTEMPTS`,
    },
    backoff_initial: {
      doc: 'First retry delay in seconds; it doubles per failure (with jitter) up to backoff_max.',
      format: 'non-negative-number',
      default: 1,
      env: `${env}_BACKOFF_INITIAL`,
    },
    backoff_max: {
      doc: 'Longest retry delay in seconds.',
      format: 'non-negative-number',
      default: 60,
      env: `${env}_BACKOFF_MAX`,
    },
  };
}

export interface DeliverySettings {
  buffer_points: number;
  attempts: number;
  backoff_initial: number;
  backoff_max: number;
}

/** Queue options from a sink's delivery keys (seconds in the configuration, ms here). */
export function resolveDelivery(raw: DeliverySettings): DeliveryOptions {
  return {
    maxPoints: raw.buffer_points,
    backoff: { initialMs: raw.backoff_initial * 1000, maxMs: raw.backoff_max * 1000 },
    attemptsPerDrain: raw.attempts,
  };
}
