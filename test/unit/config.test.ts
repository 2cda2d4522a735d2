// Configuration: defaults < file < environment < flags; unknown keys and bad values fail with
// the key's name.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, loadConfig } from '../../src/config/load';
import { exampleConfig } from '../../src/config/example';
import { DeliveryOptions, deprecatedBufferPoints } from '../../src/deliver/delivery';
import { EXAMPLE_CONFIG, README, SECTIONS, section } from '../../src/app/docs';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-config-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

describe('loadConfig', () => {
  it('has documented defaults', () => {
    const { settings } = loadConfig({ env: {} });
    expect(settings.interval).toBe('60');
    expect(settings.discovery).toEqual({ mode: 'auto', proc_root: '/proc', netns_root: '/run/netns', watch: false, resync_cycles: 5 });
    expect(settings.docker.host).toBe('unix:///var/run/docker.sock');
    expect(settings.output.format).toBe('table');
  });

  it('layers file < environment < flags', () => {
    const f = file('a.yaml', 'interval: 30\ndiscovery:\n  mode: procfs\n  proc_root: /file\noutput:\n  format: json\n');
    const env = { SOCKPULSE_DISCOVERY: 'netns', SOCKPULSE_PROC_ROOT: '/env' };
    const { settings } = loadConfig({ file: f, env, overrides: { 'discovery.proc_root': '/flag' } });
    expect(settings.interval).toBe('30'); // file
    expect(settings.output.format).toBe('json'); // file
    expect(settings.discovery.mode).toBe('netns'); // env over file
    expect(settings.discovery.proc_root).toBe('/flag'); // flag over env
  });

  it('reads JSON files and DOCKER_HOST like the docker CLI', () => {
    const f = file('b.json', JSON.stringify({ filters: { exclude_names: ['k8s_POD_.*'] } }));
    const { settings } = loadConfig({ file: f, env: { DOCKER_HOST: 'tcp://127.0.0.1:2375' } });
    expect(settings.filters.exclude_names).toEqual(['k8s_POD_.*']);
    expect(settings.docker.host).toBe('tcp://127.0.0.1:2375');
  });

  it('splits list values given in the environment', () => {
    const { settings } = loadConfig({ env: { SOCKPULSE_DOCKER_COPY_LABELS: 'team, app' } });
    expect(settings.docker.copy_labels).toEqual(['team', 'app']);
  });

  it('bounds the push buffers in bytes; the deprecated buffer_points still bounds points too, and says so at start', () => {
    const falconOf = (env: Record<string, string>) => loadConfig({ env: { SOCKPULSE_FALCON_ENABLED: 'true', ...env } }).resolved.sinks.find((s) => s.plugin.name === 'falcon')!.cfg as { delivery: DeliveryOptions };
    expect(falconOf({}).delivery).toMatchObject({ maxBytes: 8 * 1024 * 1024, maxPoints: undefined });
    const old = falconOf({ SOCKPULSE_FALCON_BUFFER_POINTS: '100000' }).delivery;
    expect(old).toMatchObject({ maxBytes: 8 * 1024 * 1024, maxPoints: 100000 });
    expect(deprecatedBufferPoints('falcon', old)).toMatch(/^sinks\.falcon\.buffer_points is deprecated: .*sinks\.falcon\.buffer_bytes/);
    expect(deprecatedBufferPoints('falcon', falconOf({}).delivery)).toBeUndefined();
    expect(falconOf({ SOCKPULSE_FALCON_BUFFER_BYTES: '65536' }).delivery.maxBytes).toBe(65536);
  });

  it('freezes the result', () => {
    const { settings } = loadConfig({ env: {} });
    expect(Object.isFrozen(settings.discovery)).toBe(true);
  });

  it.each([
    ['an unknown key', 'intervall: 30\n', /intervall/],
    ['an unknown nested key', 'docker:\n  hots: x\n', /docker\.hots/],
    ['a bad enum', 'discovery:\n  mode: kubernetes\n', /discovery\.mode.*auto.*docker.*procfs.*netns/],
    ['an interval the clock cannot align', 'interval: 45\n', /interval.*45.*dividing a minute/],
    ['a bad cron expression', 'interval: "every minute"\n', /interval/],
    ['a bad filter', 'filters:\n  include_names: ["(["]\n', /filters\.include_names/],
    ['a list given as a number', 'filters:\n  exclude_names: 5\n', /filters\.exclude_names/],
    ['a timeout longer than the interval', 'interval: 10\ncycle_timeout: 20\n', /cycle_timeout/],
    ['a negative concurrency', 'docker:\n  inspect_concurrency: -1\n', /docker\.inspect_concurrency/],
    ['a resync period of 0 cycles', 'discovery:\n  watch: true\n  resync_cycles: 0\n', /discovery\.resync_cycles/],
    ['a copied label named like one of sockpulse\'s own', 'docker:\n  copy_labels: [team, image]\n', /docker\.copy_labels: image would overwrite/],
    ['a Falcon batch larger than its buffer', 'sinks:\n  falcon:\n    enabled: true\n    batch_size: 500\n    buffer_points: 100\n', /sinks\.falcon\.batch_size: 500 is larger than sinks\.falcon\.buffer_points/],
    ['a top-level list', '- a\n- b\n', /top level must be a mapping/],
    ['broken YAML', 'interval: [\n', /config file .*c\.yaml/],
  ])('rejects %s, naming the key', (_what, text, msg) => {
    const f = file('c.yaml', text);
    expect(() => loadConfig({ file: f, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file: f, env: {} })).toThrow(msg);
  });

  it('discovery.watch and resync_cycles reach the discovery sources (environment)', () => {
    const { resolved } = loadConfig({ env: { SOCKPULSE_DISCOVERY_WATCH: 'true', SOCKPULSE_DISCOVERY_RESYNC_CYCLES: '12' } });
    expect(resolved.discovery.shared.watch).toEqual({ enabled: true, resyncCycles: 12 });
    expect(loadConfig({ env: {} }).resolved.discovery.shared.watch).toEqual({ enabled: false, resyncCycles: 5 });
  });

  it('rejects a bad value from the environment, naming the key', () => {
    expect(() => loadConfig({ env: { SOCKPULSE_FORMAT: 'xml' } })).toThrow(/output\.format/);
  });

  it('says which file is missing', () => {
    expect(() => loadConfig({ file: path.join(dir, 'nope.yaml'), env: {} })).toThrow(/config file .*nope\.yaml.*ENOENT/);
  });
});

describe('generated README sections', () => {
  const readme = fs.readFileSync(README, 'utf8');
  it.each(Object.entries(SECTIONS))('%s is exactly what the code generates (npm run docs)', (name, gen) => {
    expect(section(readme, name)).toBe(gen());
  });

  it('config/sockpulse.example.yaml is exactly what the code generates, and loads to the defaults', () => {
    const text = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    expect(text).toBe(exampleConfig());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-example-'));
    try {
      const file = path.join(dir, 'example.yaml');
      fs.writeFileSync(file, text);
      expect(loadConfig({ file, env: {} }).printable()).toBe(loadConfig({ env: {} }).printable());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
