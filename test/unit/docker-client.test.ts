// The Docker client keeps as many connections as discovery inspects at once (docker.inspect_concurrency),
// plus one for the list call. The engine here is a stand-in for the two calls discovery makes
// (GET /containers/json and GET /containers/{id}/json) on a real unix socket, answering each
// inspect after a delay and recording how many were in flight at once; pids come from the fixture
// proc tree.
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { docker as docker_ } from '../../src/discover/docker/plugin';
import { dockerClient } from '../../src/discover/docker/client';
import { DockerDiscovery } from '../../src/discover/docker/discovery';
import { FIXTURE_ROOT } from '../helpers/pipeline';

const CONTAINERS = 24;
const ids = Array.from({ length: CONTAINERS }, (_, i) => i.toString(16).padStart(64, 'a'));

async function engine(delayMs: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-engine-'));
  const socketPath = path.join(dir, 'docker.sock');
  const seen = { inFlight: 0, most: 0, inspects: 0 };
  const server = http.createServer((req, res): void => {
    const url = (req.url ?? '').replace(/^\/v[\d.]+/, '').split('?')[0];
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url === '/containers/json') {
      json(ids.map((Id, i) => ({ Id, Names: [`/c${i}`], Image: 'img', Labels: {}, State: 'running' })));
      return;
    }
    const m = /^\/containers\/([0-9a-f]{64})\/json$/.exec(url);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    seen.inspects++;
    seen.most = Math.max(seen.most, ++seen.inFlight);
    setTimeout(() => {
      seen.inFlight--;
      json({ Id: m[1], State: { Running: true, Pid: 300 } });
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => (fs.rmSync(dir, { recursive: true, force: true }), resolve()));
    });
  return { socketPath, seen, close };
}

describe('dockerClient', () => {
  it.each([4, 12, 20])('inspects inspect_concurrency (%i) containers at once: as many connections, plus one for the list', async (concurrency) => {
    const e = await engine(150);
    try {
      const docker = dockerClient(docker_.config!.resolve({ host: `unix://${e.socketPath}`, tls_verify: false, cert_path: '', timeout: 10, inspect_concurrency: concurrency }, {}));
      const d = new DockerDiscovery(docker, { procRoot: FIXTURE_ROOT, copyLabels: [], filter: () => true, hasIncludeFilter: false, concurrency, endpoint: e.socketPath });
      const r = await d.discover(AbortSignal.timeout(10_000));
      expect(r.errors).toEqual([]);
      expect(r.targets.find((t) => t.pid === 300)?.containers).toHaveLength(CONTAINERS);
      expect(e.seen.inspects).toBe(CONTAINERS);
      expect(e.seen.most).toBe(concurrency);
      ((docker.modem as unknown as { agent: http.Agent }).agent).destroy();
    } finally {
      await e.close();
    }
  });
});
