// SIGHUP loses nothing (app/reload.ts). The daemon (built CLI) pushes to Open-Falcon and OTLP,
// both down, so every cycle's points wait in the sinks' buffers; Prometheus serves meanwhile.
// Two reloads while they are down: the first changes only the interval (both push sinks are the
// same instances afterwards, buffers and all), the second changes the Falcon sink's own settings
// (a new instance, which takes over the buffered payloads). Then the backends come back: every
// cycle's points arrive exactly once, nothing is counted as dropped, the Prometheus page answered
// every scrape throughout, and the self-stats went on counting across both reloads.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describeRoot } from '../helpers/env';
import { AgentRun, LogLine } from '../helpers/agent-run';
import { FalconReceiver } from '../helpers/falcon-receiver';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { freePort } from '../helpers/victoria';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function scrape(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

describeRoot('SIGHUP while the push backends are down', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-reload-'));
  const file = path.join(dir, 'sockpulse.yaml');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('delivers every buffered point exactly once, keeps Prometheus up and the self-stats counting', async () => {
    const [falcon, otlp, promPort] = await Promise.all([FalconReceiver.start(), OtlpReceiver.start(), freePort()]);
    const config = (interval: number, batchSize: number) =>
      fs.writeFileSync(
        file,
        [
          `interval: ${interval}`,
          // Only the host namespace: the cycle stays small whatever else runs on the machine.
          `discovery: { mode: netns, netns_root: "${path.join(dir, 'none')}" }`,
          'sinks:',
          // A generous request timeout: a request answered after it is resent (at least once), and
          // on a loaded machine 0.5 s was not enough — that is not what this test is about.
          `  falcon: { enabled: true, url: "${falcon.transferUrl}", timeout: 5, batch_size: ${batchSize}, backoff_initial: 0.2, backoff_max: 0.5 }`,
          `  otlp: { enabled: true, endpoint: "${otlp.url}", protocol: http/json, timeout: 5, backoff_initial: 0.2, backoff_max: 0.5 }`,
          `  prometheus: { enabled: true, listen: "127.0.0.1:${promPort}" }`,
        ].join('\n') + '\n',
      );
    config(1, 500);
    await falcon.setMode({ kind: 'refuse' });
    otlp.mode = { kind: 'status', status: 503 };
    const a = new AgentRun('reload', ['-c', file]);
    const scrapes: number[] = [];
    let scraping = true;
    const scraper = (async () => {
      await a.cycles(1, 0);
      while (scraping) {
        scrapes.push(await scrape(promPort));
        await sleep(100);
      }
    })();
    try {
      await a.cycles(3, 0);
      config(2, 500); // the interval only
      a.child.kill('SIGHUP');
      await a.cycles(3);
      config(2, 7); // the Falcon sink's own settings: a new instance takes the buffer over
      a.child.kill('SIGHUP');
      await a.cycles(2);
      const reloaded = a.logs.filter((l) => l.msg === 'configuration reloaded').length;
      expect(reloaded).toBe(2);
      expect(a.logs.some((l) => l.msg === 'reload: buffered points handed to the reconfigured sink' && l.sink === 'falcon')).toBe(true);
      const stamps = a.docs.map((d) => d.timestamp);
      const last = a.docs[a.docs.length - 1];
      expect(last.self.sinks.falcon.dropped ?? {}).toEqual({});
      expect(last.self.sinks.otlp.dropped ?? {}).toEqual({});
      // Self-stats carried over: cycles count on from before the reloads.
      expect(last.self.cycles).toBe(a.docs.length);

      await falcon.setMode({ kind: 'ok' });
      otlp.mode = { kind: 'ok' };
      const falconCycles = () => falcon.items.filter((i) => i.metric === 'sockpulse.agent.cycles').map((i) => i.timestamp);
      const otlpCycles = () =>
        otlp.metrics().filter((m) => m.name === 'sockpulse.agent.cycles').flatMap((m) => m.points.map((p) => Number(BigInt(p.time) / 1_000_000_000n)));
      const deadline = Date.now() + 20_000;
      while (!stamps.every((t) => falconCycles().includes(t) && otlpCycles().includes(t)) && Date.now() < deadline) await sleep(200);
      await a.cycles(1);
      await sleep(500);

      for (const seen of [falconCycles(), otlpCycles()]) {
        for (const t of stamps) expect([t, seen.filter((s) => s === t).length]).toEqual([t, 1]);
      }
      const keys = falcon.items.map((i) => JSON.stringify([i.endpoint, i.metric, i.tags, i.timestamp]));
      expect(keys.length).toBe(new Set(keys).size); // no Falcon item twice
      const end = a.docs[a.docs.length - 1];
      expect(end.self.sinks.falcon.dropped ?? {}).toEqual({});
      expect(end.self.sinks.otlp.dropped ?? {}).toEqual({});
    } finally {
      scraping = false;
      await scraper.catch(() => undefined);
      expect(await a.stop()).toBe(0);
      await Promise.all([falcon.close(), otlp.close()]);
    }
    expect(scrapes.length).toBeGreaterThan(20);
    expect(scrapes.filter((s) => s !== 200)).toEqual([]);
  }, 90_000);

  it('counts the points a removed or incompatibly replaced sink could not flush as dropped for the reload, not for a shutdown', async () => {
    const [falcon, otlp] = await Promise.all([FalconReceiver.start(), OtlpReceiver.start()]);
    const config = (withFalcon: boolean, protocol: string) =>
      fs.writeFileSync(
        file,
        [
          'interval: 1',
          `discovery: { mode: netns, netns_root: "${path.join(dir, 'none')}" }`,
          'sinks:',
          `  falcon: { enabled: ${withFalcon}, url: "${falcon.transferUrl}", timeout: 0.5, backoff_initial: 0.2, backoff_max: 0.5 }`,
          `  otlp: { enabled: true, endpoint: "${otlp.url}", protocol: ${protocol}, timeout: 0.5, backoff_initial: 0.2, backoff_max: 0.5 }`,
        ].join('\n') + '\n',
      );
    config(true, 'http/json');
    await falcon.setMode({ kind: 'refuse' });
    otlp.mode = { kind: 'status', status: 503 };
    const a = new AgentRun('reload-drop', ['-c', file]);
    try {
      await a.cycles(3, 0);
      config(false, 'http/protobuf'); // Falcon removed; OTLP's buffered JSON cannot be sent as protobuf
      a.child.kill('SIGHUP');
      await a.cycles(2);
      expect(a.logs.filter((l) => l.msg === 'configuration reloaded')).toHaveLength(1);
      const said = a.logs as (LogLine & { reason?: string; points?: number })[];
      const falconLost = said.find((l) => l.sink === 'falcon' && l.reason === 'reload' && /not delivered/.test(l.msg));
      const otlpLost = said.find((l) => l.sink === 'otlp' && l.reason === 'reload' && /buffered points dropped/.test(l.msg));
      expect(falconLost?.points).toBeGreaterThan(0);
      expect(otlpLost?.points).toBeGreaterThan(0);
      expect(said.some((l) => l.reason === 'shutdown')).toBe(false);
      const last = a.docs[a.docs.length - 1];
      // The new OTLP instance counts on in the same self-stats: its predecessor's loss is there, as `reload`.
      expect(last.self.sinks.otlp.dropped).toEqual({ reload: otlpLost!.points });
      if (last.self.sinks.falcon) expect(last.self.sinks.falcon.dropped).toEqual({ reload: falconLost!.points });
    } finally {
      expect(await a.stop()).toBe(0);
      await Promise.all([falcon.close(), otlp.close()]);
    }
  }, 60_000);
});
