// Label maps, and the label keys a target carries (discover/labels.ts derives them from the
// containers in a namespace; sinks emit them in TARGET_LABEL_KEYS order).
import { Target } from './model';

/**
 * A label map without a prototype. Label keys come from users (copy_labels) and from containers:
 * in a plain object a key such as `constructor` or `toString` reads an Object.prototype member
 * when absent, and `__proto__` cannot be set at all. Every label map is made through this.
 */
export function labelMap(from: Record<string, string> = {}): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const k of Object.keys(from)) out[k] = from[k];
  return out;
}

/** A label's value, never an Object.prototype member (whatever kind of object `labels` is). */
export function label(labels: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/**
 * Label keys a target may carry, in a stable order: `scope` first, then what discovery sets
 * (discover/labels.ts), then the configured copied labels.
 */
export const TARGET_LABEL_KEYS = [
  'scope', 'container', 'container_id', 'image', 'pod', 'namespace', 'pod_uid', 'kube_container',
  'compose_project', 'compose_service', 'netns_name',
] as const;

/**
 * The labels of a target as sinks emit them: its discovery labels plus `scope` (which nothing
 * overrides). A namespace with neither a container nor a name gets `netns_name` = `netns-<inode>`
 * (unchanged by every backend's escaping), so two of them never merge into one series.
 */
export function targetLabels(t: Target): Record<string, string> {
  const out = labelMap(t.labels);
  out.scope = t.scope;
  if (t.scope === 'netns' && !out.netns_name) out.netns_name = `netns-${t.netns}`;
  return out;
}

