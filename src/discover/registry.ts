// The discovery sources: the only list of them. Adding a source = its file or folder (plugin with
// its configuration section, the Discovery) and its tests, and one line here. `discovery.mode`
// takes `auto` or any name listed; `auto` tries the sources that declare `auto`, in this order,
// then falls back to `procfs`. The configuration schema and references follow from this list.
import { AnyDiscoveryPlugin } from './plugin';
import { docker } from './docker/plugin';
import { cri } from './cri/plugin';
import { procfs } from './procfs';
import { netns } from './netns';

export const SOURCES: readonly AnyDiscoveryPlugin[] = [docker, cri, procfs, netns];

/** What `auto` falls back to when no runtime answers: every namespace under the proc root. */
export const FALLBACK = 'procfs';
