// Every push backend failing at once under a running agent daemon (the host namespace, all sinks on):
// - down together (Open-Falcon and StatsD/TCP refusing connections, OTLP answering 503): the agent keeps its one cycle a second, counts what it cannot deliver by sink and
//   reason, and once they are back Open-Falcon and OTLP receive every cycle of the outage;
// - hanging (accepting and never answering, with 30 s timeouts): SIGTERM and SIGINT still end the
//   daemon with exit 0 within 10 s, the stuck cycle abandoned and the lost points logged.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeRoot } from '../helpers/env';
import { AgentRun, Doc, timestampGaps } from '../helpers/agent-run';
import { FalconReceiver } from '../helpers/falcon-receiver';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { TcpCapture } from '../helpers/statsd-server';
import { freePort } from '../helpers/victoria';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A hung backend: accepts connections and never reads or answers. */
async function hung(): Promise<TcpCapture> {
  const c = await TcpCapture.start();
  c.mode = 'pause';
  return c;
}

describeRoot('every backend down or hung at once (daemon, all sinks)', () => {
  const agents: AgentRun[] = [];
  // Only the host namespace (an empty netns root): the cycle stays small whatever other suites run.
  const noNamed = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-down-netns-'));
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    fs.rmSync(noNamed, { recursive: true, force: true });
  });

  function agent(label: string, yaml: string[]): AgentRun {
    const a = AgentRun.withConfig(label, [`discovery: { mode: netns, netns_root: "${noNamed}" }`, ...yaml]);
    agents.push(a);
    return a;
  }

  it('down together: cycles keep their second, drops are counted by reason, and the outage is delivered on recovery', async () => {
    const [falcon, otlp, promPort] = await Promise.all([FalconReceiver.start(), OtlpReceiver.start(), freePort()]);
    let statsd = await TcpCapture.start();
    try {
      const a = agent('down-together', [
        'interval: 1',
        'sinks:',
        `  falcon: { enabled: true, url: "${falcon.transferUrl}", timeout: 0.5, backoff_initial: 0.2, backoff_max: 0.5 }`,
        `  otlp: { enabled: true, endpoint: "${otlp.url}", protocol: http/json, timeout: 0.5, backoff_initial: 0.2, backoff_max: 0.5 }`,
        `  statsd: { enabled: true, protocol: tcp, host: 127.0.0.1, port: ${statsd.port} }`,
        `  prometheus: { enabled: true, listen: "127.0.0.1:${promPort}" }`,
      ]);
      await a.cycles(2, 0);
      await Promise.all([falcon.setMode({ kind: 'refuse' }), (otlp.mode = { kind: 'status', status: 503 })]);
      await statsd.close(); // refused from now on, the open connection closed
      const down = a.docs.length;
      const firstDown = (await a.cycles(1, down)) + 1; // the first cycle that surely saw them down
      await a.cycles(5, firstDown);
      const up = a.docs.length;
      await falcon.setMode({ kind: 'ok' });
      otlp.mode = { kind: 'ok' };
      statsd = await TcpCapture.start(statsd.port);
      const outage = a.docs.slice(firstDown, up).map((d) => d.timestamp);

      // Recovery: what was buffered arrives (Falcon items and OTLP points for every outage second).
      const cpuStamps = () => new Set(falcon.items.filter((i) => i.metric === 'sockpulse.agent.cycles').map((i) => i.timestamp));
      const otlpStamps = () =>
        new Set(otlp.metrics().filter((m) => m.name === 'sockpulse.agent.cycles').flatMap((m) => m.points.map((p) => Number(BigInt(p.time) / 1_000_000_000n))));
      const deadline = Date.now() + 15_000;
      while (!outage.every((t) => cpuStamps().has(t) && otlpStamps().has(t)) && Date.now() < deadline) await sleep(200);
      await statsd.waitFor((items) => items.join('').includes('sockpulse.agent.cycles'), 10_000);
      const last: Doc = a.docs[a.docs.length - 1];
      expect(await a.stop()).toBe(0);

      expect(outage.filter((t) => !cpuStamps().has(t))).toEqual([]);
      expect(outage.filter((t) => !otlpStamps().has(t))).toEqual([]);
      expect(timestampGaps(a)).toEqual([]);
      for (const d of a.docs.slice(firstDown, up)) expect(d.targets.length).toBeGreaterThan(0);
      // Drops and retries by sink and reason, in the agent's own numbers.
      expect(last.self.sinks.statsd.dropped?.send_error).toBeGreaterThan(0);
      expect(a.logs.some((l) => l.sink === 'falcon' && l.level === 40)).toBe(true);
      expect(a.logs.filter((l) => l.level >= 50)).toEqual([]);
    } finally {
      await Promise.all([falcon.close(), otlp.close(), statsd.close()]);
    }
  }, 60_000);

  it.each(['SIGTERM', 'SIGINT'] as const)('hung backends: %s ends the daemon with exit 0 within 10 s', async (signal) => {
    const [falcon, otlp, statsd, promPort] = await Promise.all([hung(), hung(), hung(), freePort()]);
    try {
      const a = agent(`hung/${signal}`, [
        'interval: 10',
        'cycle_timeout: 8',
        'sinks:',
        `  falcon: { enabled: true, url: "http://127.0.0.1:${falcon.port}/api/push", timeout: 30 }`,
        `  otlp: { enabled: true, endpoint: "http://127.0.0.1:${otlp.port}/v1/metrics", timeout: 30 }`,
        `  statsd: { enabled: true, protocol: tcp, host: 127.0.0.1, port: ${statsd.port} }`,
        `  prometheus: { enabled: true, listen: "127.0.0.1:${promPort}" }`,
      ]);
      // The first cycle (at the next 10 s mark): its document is printed while the pushes hang.
      await a.cycles(1, 0, 20_000);
      await sleep(500);
      const t0 = Date.now();
      const code = await a.stop(signal);
      const took = Date.now() - t0;
      expect({ code, within10s: took < 10_000 }).toEqual({ code: 0, within10s: true });
      expect(a.logs.map((l) => l.msg)).toContain('abandoning the running cycle');
      expect(a.logs.map((l) => l.msg).filter((m) => /not delivered|dropped|lost/.test(m)).length).toBeGreaterThan(0);
      console.log(`${signal} with every backend hung: exit ${code} after ${took} ms`);
    } finally {
      await Promise.all([falcon.close(), otlp.close(), statsd.close()]);
    }
  }, 90_000);
});
