// The buffer and retry keys every push sink has (`sinks.<name>.buffer_bytes`, `attempts`,
// `backoff_initial`, `backoff_max`, and the deprecated `buffer_points`), their schema and their
// resolved form for the PushQueue.
import { SectionSchema } from '../core/config-section';
import { PushQueueOptions } from './push-queue';

export type DeliveryOptions = Pick<PushQueueOptions, 'maxBytes' | 'maxPoints' | 'backoff' | 'attemptsPerDrain'>;

/** The keys, with environment names `${env}_BUFFER_BYTES` and so on. */
export function deliverySchema(env: string): SectionSchema {
  return {
    buffer_bytes: {
      doc: 'Bytes of unsent payloads kept while the backend is unreachable, compressed (about 5 bytes a point: the default holds some 100 cycles of 1000 namespaces); beyond this the oldest are dropped, counted by their points. The newest payload is always tried once.',
      format: 'positive-int',
      default: 8 * 1024 * 1024,
      env: `${env}_BUFFER_BYTES`,
    },
    buffer_points: {
      doc: 'Deprecated, use buffer_bytes. 0: no bound in points. Above 0: the points kept are bounded too, as before buffer_bytes existed, and a warning at start says so.',
      format: 'non-negative-int',
      default: 0,
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
  buffer_bytes: number;
  buffer_points: number;
  attempts: number;
  backoff_initial: number;
  backoff_max: number;
}

/** Queue options from a sink's delivery keys (seconds in the configuration, ms here). */
export function resolveDelivery(raw: DeliverySettings): DeliveryOptions {
  return {
    maxBytes: raw.buffer_bytes,
    maxPoints: raw.buffer_points > 0 ? raw.buffer_points : undefined,
    backoff: { initialMs: raw.backoff_initial * 1000, maxMs: raw.backoff_max * 1000 },
    attemptsPerDrain: raw.attempts,
  };
}

/** The start-up warning for the deprecated key, or nothing. */
export function deprecatedBufferPoints(sink: string, o: DeliveryOptions): string | undefined {
  if (o.maxPoints === undefined) return undefined;
  return `sinks.${sink}.buffer_points is deprecated: the buffer is bounded in bytes (sinks.${sink}.buffer_bytes, now ${o.maxBytes}); the ${o.maxPoints} points bound still applies too. Remove buffer_points (or SOCKPULSE_${sink.toUpperCase()}_BUFFER_POINTS) to keep the bytes bound alone.`;
}
