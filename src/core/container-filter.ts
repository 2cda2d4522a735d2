// Include/exclude filters on container names and labels, compiled once from configuration: the
// discovery's `filters` section, and collectors that read only some containers (tcp_states).
import { ContainerRef } from './model';
import { label } from './labels';
import { anchored as compile } from './patterns';

export interface FilterConfig {
  include_names: string[];
  exclude_names: string[];
  include_labels: string[];
  exclude_labels: string[];
}

interface LabelRule {
  key: string;
  value?: RegExp;
}

/** Throws with the offending key and pattern; called during config validation. */
export function compileFilters(cfg: FilterConfig, section = 'filters'): (c: ContainerRef) => boolean {
  const names = (key: string, list: string[]): RegExp[] => list.map((p) => compile(`${section}.${key}`, p));
  const labels = (key: string, list: string[]): LabelRule[] =>
    list.map((rule) => {
      const eq = rule.indexOf('=');
      if (eq === 0) throw new Error(`${section}.${key}: "${rule}" has no label name before '='`);
      return eq < 0 ? { key: rule } : { key: rule.slice(0, eq), value: compile(`${section}.${key}`, rule.slice(eq + 1)) };
    });
  const incN = names('include_names', cfg.include_names);
  const excN = names('exclude_names', cfg.exclude_names);
  const incL = labels('include_labels', cfg.include_labels);
  const excL = labels('exclude_labels', cfg.exclude_labels);

  const labelMatch = (c: ContainerRef, r: LabelRule): boolean => {
    const v = label(c.labels, r.key);
    return v !== undefined && (r.value === undefined || r.value.test(v));
  };
  return (c) => {
    const name = c.name ?? '';
    if (incN.length > 0 && !incN.some((re) => re.test(name))) return false;
    if (excN.some((re) => re.test(name))) return false;
    if (incL.length > 0 && !incL.some((r) => labelMatch(c, r))) return false;
    return !excL.some((r) => labelMatch(c, r));
  };
}
