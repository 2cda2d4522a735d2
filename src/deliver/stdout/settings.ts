// The resolved settings the plugin (plugin.ts) hands to what it builds.
export interface StdoutConfig {
  format: 'table' | 'json';
}
