// The sinks: the only list of them. Adding a sink = its folder (plugin.ts with its configuration
// section, the sink, its encoders) and its tests, and one line here. The configuration schema,
// --print-config, the generated references and the example configuration follow from this list.
import { AnySinkPlugin } from './plugin';
import { stdout } from './stdout/plugin';
import { falcon } from './falcon/plugin';
import { statsd } from './statsd/plugin';
import { otlp } from './otlp/plugin';
import { prometheus } from './prometheus/plugin';
import { clickhouse } from './clickhouse/plugin';

export const SINKS: readonly AnySinkPlugin[] = [stdout, falcon, statsd, otlp, prometheus, clickhouse];
