// The discovery's include/exclude filters (`filters` section): compiled by core/container-filter.ts,
// which collectors that read only some containers share.
export { compileFilters } from '../core/container-filter';
export type { FilterConfig } from '../core/container-filter';
