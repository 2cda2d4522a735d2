// The registries are the only lists: a collector and a sink added to (a copy of) them get their
// configuration keys, their switch, their place in the metric catalog and in every batch, with
// nothing else edited. A sample whose metric its collector did not declare is a programming
// error the collect stage reports, never a silent drop.
import { loadConfig } from '../../src/config/load';
import { REGISTRIES, schemaLeaves, buildSchema } from '../../src/config/schema';
import { CollectorPlugin } from '../../src/collect/collector';
import { COLLECTORS } from '../../src/collect/registry';
import { CollectStage, activeCollector } from '../../src/collect/stage';
import { SINKS } from '../../src/deliver/registry';
import { SinkPlugin } from '../../src/deliver/plugin';
import { SOURCES } from '../../src/discover/registry';
import { namespaceGauge, hostGauge } from '../../src/core/metrics';
import { Batch, Sample, Sink } from '../../src/core/model';
import { createLogger } from '../../src/core/log';
import { SelfStats } from '../../src/core/self-stats';
import { tryBuild } from '../../src/app/pipeline';
import { FIXTURE_ROOT } from '../helpers/pipeline';

const answer = namespaceGauge({ key: 'answer', falcon: 'answer', prom: 'sockpulse_answer', otel: 'sockpulse.answer', unit: '1', help: 'The answer', source: 'none' });

/** A collector with a key of its own: emits `answer` = its configured value for every target. */
const dummyCollector: CollectorPlugin<{ value: number }> = {
  name: 'dummy',
  doc: 'a constant',
  defaultEnabled: false,
  metrics: [answer],
  config: {
    schema: { value: { doc: 'What to answer.', format: 'positive-int', default: 42, env: 'SOCKPULSE_DUMMY_VALUE' } },
    resolve: (raw) => ({ value: raw.value as number }),
  },
  create: (cfg) => ({ collect: () => [{ def: answer, value: cfg.value }] }),
};

/** A sink that keeps what it is given. */
const received: Batch[] = [];
const dummySink: SinkPlugin<{ label: string }> = {
  name: 'dummy',
  config: {
    path: 'sinks.dummy',
    schema: {
      enabled: { doc: 'Keep batches.', format: Boolean, default: false, env: 'SOCKPULSE_DUMMY_ENABLED' },
      label: { doc: 'A label.', format: String, default: 'x', env: 'SOCKPULSE_DUMMY_LABEL' },
    },
    resolve: (raw) => {
      if (raw.label === '') throw new Error('sinks.dummy.label: must not be empty');
      return { label: raw.label as string };
    },
  },
  create: (cfg): Sink => ({
    name: `dummy-${cfg.label}`,
    start: async () => undefined,
    write: async (b) => (received.push(b), { status: 'ok', sent: b.results.length }),
    close: async () => undefined,
  }),
};

const registries = { sources: SOURCES, collectors: [...COLLECTORS, dummyCollector], sinks: [...SINKS, dummySink] };
const env = (more: Record<string, string>) => ({ SOCKPULSE_DISCOVERY: 'procfs', SOCKPULSE_PROC_ROOT: FIXTURE_ROOT, SOCKPULSE_OUTPUT_ENABLED: 'false', ...more });

describe('registries', () => {
  it('a collector and a sink added to the registries are configured, switched, built and fed, with nothing else edited', async () => {
    const keys = schemaLeaves(buildSchema(registries)).map(([k]) => k);
    expect(keys).toEqual(expect.arrayContaining(['collectors.dummy.enabled', 'collectors.dummy.value', 'sinks.dummy.enabled', 'sinks.dummy.label']));
    expect(schemaLeaves(buildSchema(REGISTRIES)).map(([k]) => k)).not.toContain('collectors.dummy.enabled');

    const off = loadConfig({ env: env({}), registries }).resolved;
    expect(off.collectors.map((c) => c.name)).not.toContain('dummy'); // off by default
    expect(off.catalog).toContain(answer);

    const { resolved } = loadConfig({ env: env({ SOCKPULSE_COLLECTOR_DUMMY_ENABLED: 'true', SOCKPULSE_DUMMY_VALUE: '7', SOCKPULSE_DUMMY_ENABLED: 'true', SOCKPULSE_DUMMY_LABEL: 'z' }), registries });
    const built = tryBuild(resolved, createLogger('silent'), new SelfStats(), false)!;
    expect(built.sinks.map((s) => s.sink.name)).toEqual(['dummy-z']);
    await built.agent.runCycle(new Date(1_700_000_000_000));
    await built.agent.close();
    const batch = received[received.length - 1];
    expect(batch.errors).toEqual([expect.objectContaining({ code: 'EMALFORMED' })]); // the fixture tree's damaged file, as without the dummy
    const answers = batch.results.map((r) => r.samples.find((s) => s.def === answer)?.value);
    expect(answers.length).toBeGreaterThan(1);
    expect(answers.every((v) => v === 7)).toBe(true);
    expect(Object.keys(batch.cycle.collectors)).toEqual(['sockstat', 'snmp', 'protocols', 'orphans', 'conntrack', 'interfaces', 'dummy']); // tcp_states is off by default
  });

  it('a plugin\'s own checks run at load and name the key', () => {
    expect(() => loadConfig({ env: env({ SOCKPULSE_DUMMY_ENABLED: 'true', SOCKPULSE_DUMMY_LABEL: '' }), registries })).toThrow('sinks.dummy.label: must not be empty');
    expect(() => loadConfig({ env: env({ SOCKPULSE_DUMMY_VALUE: '0' }), registries })).toThrow(/collectors\.dummy\.value: must be a whole number/);
  });

  it('the collect stage reports a sample its collector did not declare, and a host-wide one on a container', () => {
    const rogue = hostGauge({ key: 'rogue', falcon: 'rogue', prom: 'rogue', otel: 'rogue', unit: '1', help: '', source: '' });
    const liar: CollectorPlugin<void> = { ...dummyCollector, name: 'liar', config: undefined, metrics: [answer], create: () => ({ collect: () => [{ def: rogue, value: 1 }] }) };
    const wrongScope: CollectorPlugin<void> = { ...liar, name: 'wrong_scope', metrics: [rogue] };
    const stage = new CollectStage(FIXTURE_ROOT, [activeCollector(liar), activeCollector(wrongScope)]);
    const container = { netns: 4026532300, pid: 300, pidStart: 1, scope: 'container' as const, containers: [], labels: {} };
    const out = stage.run([container]);
    stage.close();
    expect(out.results).toEqual([]);
    expect(out.errors.map((e) => [e.code, e.message])).toEqual([
      ['EUNDECLARED', 'collector liar: emitted rogue, which it did not declare'],
      ['EUNDECLARED', 'collector wrong_scope: emitted the host-wide rogue for a container target'],
    ]);
    expect(out.collectors).toEqual({ liar: { ms: expect.any(Number), errors: 1, series: 0, dropped: 0 }, wrong_scope: { ms: expect.any(Number), errors: 1, series: 0, dropped: 0 } });
  });

  it('the collect stage reports a sample whose own labels are not the ones its definition declares', () => {
    const perIface = namespaceGauge({ key: 'per_iface', falcon: 'per_iface', prom: 'per_iface', otel: 'per_iface', unit: '1', help: '', source: '', labels: [{ key: 'interface' }] });
    const samples: Sample[] = [
      { def: perIface, value: 1, labels: { interface: 'eth0' } }, // as declared
      { def: perIface, value: 2, labels: { iface: 'eth1' } },
      { def: perIface, value: 3 },
      { def: answer, value: 4, labels: { interface: 'eth0' } },
    ];
    const labelled: CollectorPlugin<void> = { ...dummyCollector, name: 'labelled', config: undefined, metrics: [perIface, answer], create: () => ({ collect: () => samples }) };
    const stage = new CollectStage(FIXTURE_ROOT, [activeCollector(labelled)]);
    const container = { netns: 4026532300, pid: 300, pidStart: 1, scope: 'container' as const, containers: [], labels: {} };
    const out = stage.run([container]);
    stage.close();
    expect(out.results.map((r) => r.samples.map((x) => x.value))).toEqual([[1]]);
    expect(out.errors.map((e) => [e.code, e.message])).toEqual([
      ['EUNDECLARED', 'collector labelled: emitted per_iface with labels iface; its definition declares interface'],
      ['EUNDECLARED', 'collector labelled: emitted per_iface with labels (none); its definition declares interface'],
      ['EUNDECLARED', `collector labelled: emitted ${answer.key} with labels interface; its definition declares none`],
    ]);
  });

  it('two plugins declaring the same key is refused when the schema is assembled', () => {
    const twin = { ...dummySink, name: 'twin' };
    expect(() => buildSchema({ ...registries, sinks: [...SINKS, dummySink, twin] })).toThrow('configuration: sinks.dummy.enabled is declared twice');
  });
});
