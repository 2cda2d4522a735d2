// stat/nf_conntrack → the namespace's conntrack entries and its conntrack counters; the host's
// table limit, host-wide.
//
// Kernel facts (net/netfilter/nf_conntrack_standalone.c; checked on 6.18): conntrack keeps a
// count and per-CPU statistics per network namespace, shown in /proc/<pid>/net/stat/nf_conntrack
// (world-readable). The file exists only while the nf_conntrack module is loaded: without it the
// numbers are absent, not 0, and that is said once. A namespace has entries only when a netfilter
// rule there needs tracking (an nftables `ct state` match, NAT, Docker's port mappings).
// `nf_conntrack_max` is one global limit: /proc/sys/net/netfilter/nf_conntrack_max shows it in
// every namespace (read-only outside the initial one since 2671fa4 "netfilter: conntrack: Make
// global sysctls readonly in non-init netns", 5.13 and 5.12.2; 0444 on 6.18), and /proc/sys shows the
// reader's namespace only (there is no /proc/<pid>/sys), so it is read once, on the host target,
// as a host-wide number. `nf_conntrack_count` there is the reader's own count: the host target's
// `conntrack_entries` already is that number.
// The counters are each CPU's unsigned 32-bit count summed: when one CPU's count wraps, the sum
// goes down, which sinks turning counters into deltas treat as a reset.
import { MetricDef, hostGauge, namespaceCounter, namespaceGauge } from '../core/metrics';
import { Sample } from '../core/model';
import { parseConntrackStat } from '../procfs/nf-conntrack-stat';
import { decimal } from '../procfs/lines';
import { CollectorPlugin } from './collector';

export const STAT_FILE = 'stat/nf_conntrack';
export const MAX_FILE = 'sys/net/netfilter/nf_conntrack_max';

const entries = namespaceGauge({
  key: 'conntrack_entries', falcon: 'conntrack.entries', prom: 'sockpulse_conntrack_entries', otel: 'sockpulse.conntrack.entries', unit: '{entry}',
  help: 'Connections conntrack tracks in the namespace', source: 'stat/nf_conntrack entries',
});

/** Counter columns reported, by header name: [column, help]. */
const COLUMNS: [string, string][] = [
  ['found', 'Lookups that found an existing entry'],
  ['insert_failed', 'Entries that could not be inserted (a clash with an existing one)'],
  ['drop', 'Packets dropped because a new entry could not be made (table full)'],
  ['early_drop', 'Entries evicted early to make room for new ones (table full)'],
  ['search_restart', 'Table lookups restarted because of a concurrent resize'],
];

const COUNTERS: [MetricDef, string][] = COLUMNS.map(([col, help]) => [
  namespaceCounter({
    key: `conntrack_${col}`, falcon: `conntrack.${col}`, prom: `sockpulse_conntrack_${col}_total`, otel: `sockpulse.conntrack.${col}`,
    unit: col === 'drop' ? '{packet}' : col === 'search_restart' ? '{lookup}' : '{entry}',
    help: `${help}, summed over CPUs`, source: `stat/nf_conntrack ${col} (sum over CPU lines)`,
  }),
  col,
]);

const max = hostGauge({
  key: 'conntrack_max', falcon: 'host.conntrack_max', prom: 'sockpulse_host_conntrack_max', otel: 'sockpulse.host.conntrack.max', unit: '{entry}',
  help: 'The conntrack table limit, whole host', source: '/proc/sys/net/netfilter/nf_conntrack_max (host-wide)',
});

export const conntrack: CollectorPlugin<void> = {
  name: 'conntrack',
  doc: 'conntrack entries and counters per namespace, and the host\'s table limit (stat/nf_conntrack; absent without the nf_conntrack module)',
  defaultEnabled: true,
  priority: 30,
  metrics: [entries, ...COUNTERS.map(([def]) => def), max],
  create: () => {
    let loaded: boolean | undefined;
    const notices: string[] = [];
    return {
      collect(target, files) {
        const text = files.optionalText(STAT_FILE);
        if ((text !== undefined) !== loaded) {
          // Said when first seen and whenever it changes (the module loaded or unloaded since).
          if (text === undefined) notices.push(`conntrack: ${STAT_FILE} does not exist (the nf_conntrack module is not loaded): conntrack numbers are absent until it is`);
          else if (loaded === false) notices.push(`conntrack: ${STAT_FILE} appeared (the nf_conntrack module was loaded): conntrack numbers are reported`);
          loaded = text !== undefined;
        }
        if (text === undefined) return [];
        const stat = parseConntrackStat(text);
        if (stat === undefined) {
          files.malformed(STAT_FILE, ['a header starting with "entries" and CPU lines of hex numbers under it']);
          return [];
        }
        const out: Sample[] = [{ def: entries, value: stat.entries }];
        for (const [def, col] of COUNTERS) {
          const v = stat.counters[col];
          if (v !== undefined) out.push({ def, value: v }); // a column this kernel does not print is absent
        }
        if (target.scope === 'host') {
          const limit = files.rootText(MAX_FILE);
          const n = limit === undefined ? undefined : decimal(limit.trim());
          if (n !== undefined) out.push({ def: max, value: n });
        }
        return out;
      },
      takeNotices() {
        return notices.splice(0);
      },
    };
  },
};
