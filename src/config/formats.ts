// The convict formats plugins name in their schema fragments ('positive-int', 'listen', …).
// Registered once, before any schema is built.
import convict from 'convict';
import { parseListen } from '../core/listen';

let done = false;

export function registerFormats(): void {
  if (done) return;
  done = true;
  // Checked (and parsed, once) by config/resolve.ts, which names the key.
  convict.addFormat({
    name: 'interval',
    validate(v: unknown) {
      if (typeof v !== 'string' && typeof v !== 'number') throw new Error('must be seconds or a cron expression');
    },
    coerce: (v: unknown) => String(v).trim(),
  });
  convict.addFormat({
    name: 'string-list',
    validate(v: unknown) {
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new Error('must be a list of strings');
    },
    coerce: (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  });
  convict.addFormat({
    name: 'prefix-map',
    validate(v: unknown) {
      const ok = typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((l) => Array.isArray(l) && l.every((s) => typeof s === 'string'));
      if (!ok) throw new Error('must map names to lists of address prefixes ({"name": ["10.0.0.0/8"]})');
    },
    coerce: (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v),
  });
  convict.addFormat({
    name: 'listen',
    validate(v: unknown) {
      parseListen(String(v), ''); // convict prefixes the key
    },
  });
  convict.addFormat({
    name: 'listen-or-empty',
    validate: (v: unknown) => {
      if (v !== '') parseListen(String(v), '');
    },
  });
  convict.addFormat({
    name: 'positive-int',
    validate(v: unknown) {
      if (!Number.isInteger(v) || (v as number) < 1) throw new Error('must be a whole number ≥ 1');
    },
    coerce: Number,
  });
  convict.addFormat({
    name: 'non-negative-int',
    validate(v: unknown) {
      if (!Number.isInteger(v) || (v as number) < 0) throw new Error('must be a whole number ≥ 0');
    },
    coerce: Number,
  });
  convict.addFormat({
    name: 'non-negative-number',
    validate(v: unknown) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error('must be a number ≥ 0');
    },
    coerce: Number,
  });
}
