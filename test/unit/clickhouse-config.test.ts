// The ClickHouse sink's configuration: refused at load without the flows collector (naming both
// keys) and on bad names; its password and URL credentials masked in --print-config and in the
// errors it reports; the 18.16 table statement free of what 18.16 cannot parse.
import { ConfigError, loadConfig } from '../../src/config/load';
import { createTableSql } from '../../src/deliver/clickhouse/table';
import { errorOutcome } from '../../src/deliver/clickhouse/outcome';
import { hideSecrets, urlSecrets } from '../../src/core/secrets';

const ON = { SOCKPULSE_CLICKHOUSE_ENABLED: 'true', SOCKPULSE_COLLECTOR_FLOWS_ENABLED: 'true', SOCKPULSE_DISCOVERY: 'procfs' };

function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`loaded: ${JSON.stringify(env)}`);
}

describe('sinks.clickhouse at load', () => {
  it('is refused while the flows collector is off, naming both keys', () => {
    const msg = refusal({ ...ON, SOCKPULSE_COLLECTOR_FLOWS_ENABLED: 'false' });
    expect(msg).toContain('sinks.clickhouse.enabled is true but collectors.flows.enabled is false');
    expect(msg).toContain('set collectors.flows.enabled: true, or sinks.clickhouse.enabled: false');
  });

  it('loads with the flows collector on; off by default', () => {
    expect(loadConfig({ env: ON }).resolved.sinks.find((s) => s.plugin.name === 'clickhouse')).toMatchObject({ enabled: true });
    expect(loadConfig({ env: { SOCKPULSE_DISCOVERY: 'procfs' } }).resolved.sinks.find((s) => s.plugin.name === 'clickhouse')).toMatchObject({ enabled: false });
  });

  it.each([
    [{ SOCKPULSE_CLICKHOUSE_TABLE: 'flows; DROP TABLE x' }, /^sinks\.clickhouse\.table: "flows; DROP TABLE x" is not a plain identifier/],
    [{ SOCKPULSE_CLICKHOUSE_DATABASE: '1db' }, /^sinks\.clickhouse\.database: "1db" is not a plain identifier/],
    [{ SOCKPULSE_CLICKHOUSE_URL: 'tcp://u:pw-secret@ch:9000' }, /^sinks\.clickhouse\.url: "tcp:\/\/\*\*\*:\*\*\*@ch:9000" must be http/],
    [{ SOCKPULSE_CLICKHOUSE_URL: 'http://ch:8123/other' }, /^sinks\.clickhouse\.url: the HTTP interface is at the server's root/],
    [{ SOCKPULSE_CLICKHOUSE_SCHEMA: 'v18' }, /schema/],
    [{ SOCKPULSE_CLICKHOUSE_TIMEOUT: '0' }, /^sinks\.clickhouse\.timeout: must be above 0/],
  ])('refuses %j', (env, re) => {
    expect(refusal({ ...ON, ...env })).toMatch(re);
  });

  it('--print-config masks the password and the URL\'s credentials', () => {
    const cfg = JSON.parse(loadConfig({ env: { ...ON, SOCKPULSE_CLICKHOUSE_URL: 'https://cuser:cpass@ch.example:8443/?token=CT1', SOCKPULSE_CLICKHOUSE_PASSWORD: 'CH-PASSWORD' } }).printable());
    expect(cfg.sinks.clickhouse.url).toBe('https://***:***@ch.example:8443/?token=***');
    expect(cfg.sinks.clickhouse.password).toBe('[Sensitive]');
    const text = JSON.stringify(cfg);
    for (const s of ['cuser', 'cpass', 'CT1', 'CH-PASSWORD']) expect(text).not.toContain(s);
  });
});

describe('ClickHouse errors as the sink reports them', () => {
  const hide = hideSecrets(['CH-PASSWORD', ...urlSecrets('http://cuser:cpass@ch:8123')]);
  const where = { table: '`default`.`network_flows_0`', createTable: false };

  it('masks secrets a reply or a network error quotes', () => {
    const out = errorOutcome(new Error('Code: 516. DB::Exception: cuser: Authentication failed: password CH-PASSWORD is incorrect'), hide, where);
    expect(out).toEqual({ status: 'failed', reason: 'auth', error: expect.stringContaining('***: Authentication failed: password *** is incorrect') });
    expect(errorOutcome(Object.assign(new Error('connect ECONNREFUSED cpass'), { code: 'ECONNREFUSED' }), hide, where)).toEqual({ status: 'retryable', error: 'ECONNREFUSED: connect ECONNREFUSED ***' });
  });

  it('retries transient server errors, drops the rest', () => {
    expect(errorOutcome(new Error('Code: 252, e.displayText() = DB::Exception: Too many parts'), hide, where).status).toBe('retryable');
    expect(errorOutcome(new Error('Code: 27. DB::Exception: Cannot parse input'), hide, where)).toMatchObject({ status: 'failed', error: 'ClickHouse error 27: Code: 27. DB::Exception: Cannot parse input' });
  });
});

describe('the 18.16 table statement', () => {
  it('uses none of Map, IPv4, LowCardinality, Bool, CODEC, TTL; the modern one uses them', () => {
    const legacy = createTableSql('default', 'network_flows_0', 'legacy');
    for (const re of [/Map\(/, / IPv4\b/, /LowCardinality/, /\bBool\b/, /CODEC/, /\bTTL\b/, /SETTINGS/]) expect(legacy).not.toMatch(re);
    const modern = createTableSql('default', 'network_flows_0', 'modern');
    for (const word of ['Map(LowCardinality(String), Bool)', ' IPv4 ', 'LowCardinality', 'CODEC', 'TTL intervalStartTime + toIntervalDay(90)']) expect(modern).toContain(word);
  });
});
