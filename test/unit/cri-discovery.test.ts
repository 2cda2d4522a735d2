// The CRI source's pure parts: endpoint settings, the pid in a verbose sandbox status, and how a
// pod's sandbox and containers become one label set (the same names as Docker's Kubernetes labels).
import { ConfigError, loadConfig } from '../../src/config/load';
import { infoPid, podRefs } from '../../src/discover/cri/discovery';
import { PodSandbox, CriContainer } from '../../src/discover/cri/client';
import { DEFAULT_SOCKETS, CriConfig } from '../../src/discover/cri/settings';
import { namespaceLabels } from '../../src/discover/labels';

const cri = (env: Record<string, string>): CriConfig =>
  loadConfig({ env: { SOCKPULSE_DISCOVERY: 'cri', ...env } }).resolved.discovery.sections.get('cri') as CriConfig;

describe('cri settings', () => {
  it('empty endpoint: the default sockets in order; CONTAINER_RUNTIME_ENDPOINT as crictl reads it', () => {
    expect(cri({}).sockets).toEqual(DEFAULT_SOCKETS);
    expect(cri({}).configured).toBe(false);
    expect(cri({ CONTAINER_RUNTIME_ENDPOINT: 'unix:///run/x/cri.sock' }).sockets).toEqual(['/run/x/cri.sock']);
    expect(cri({ CONTAINER_RUNTIME_ENDPOINT: '/run/y.sock' }).sockets).toEqual(['/run/y.sock']);
  });

  it.each(['tcp://127.0.0.1:1234', 'npipe:////./pipe/x', 'relative.sock', 'unix://'])('refuses %s naming the key', (ep) => {
    expect(() => cri({ CONTAINER_RUNTIME_ENDPOINT: ep })).toThrow(ConfigError);
    expect(() => cri({ CONTAINER_RUNTIME_ENDPOINT: ep })).toThrow(/^cri\.endpoint: /);
  });

  it('a zero timeout is refused; the cri section is not checked in other modes', () => {
    expect(() => cri({ SOCKPULSE_CRI_TIMEOUT: '0' })).toThrow(/^cri\.timeout/);
    expect(() => loadConfig({ env: { SOCKPULSE_DISCOVERY: 'procfs', CONTAINER_RUNTIME_ENDPOINT: 'tcp://x:1' } })).not.toThrow();
  });

  it('copy labels of docker and cri are one list, and may not shadow sockpulse\'s own', () => {
    const r = loadConfig({ env: { SOCKPULSE_DOCKER_COPY_LABELS: 'a,b', SOCKPULSE_CRI_COPY_LABELS: 'b,app' } }).resolved;
    expect(r.copyLabels).toEqual(['a', 'b', 'app']);
    expect(() => loadConfig({ env: { SOCKPULSE_CRI_COPY_LABELS: 'pod' } })).toThrow(/^cri\.copy_labels: pod/);
  });
});

describe('infoPid', () => {
  it.each<[Record<string, string>, number | undefined]>([
    [{ info: '{"pid":4242,"processStatus":"running"}' }, 4242],
    [{ info: `{"pid":17,"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"}]},"pad":"${'x'.repeat(4000)}"}}` }, 17],
    [{ info: '{"pid":9}' }, 9],
    [{ info: '{"processStatus":"running","pid":31}' }, 31],
    [{ info: '{"pid": 55, "processStatus": "running"}' }, 55],
    [{ info: '{"pid":0}' }, undefined],
    [{ info: '{"pid":"12"}' }, undefined],
    [{ info: 'not json' }, undefined],
    [{}, undefined],
  ])('%j → %s', (info, pid) => expect(infoPid(info)).toBe(pid));
});

describe('podRefs', () => {
  const sandbox: PodSandbox = {
    id: 'a'.repeat(64),
    metadata: { name: 'web-0', uid: '11111111-2222-3333-4444-555555555555', namespace: 'shop', attempt: 0 },
    state: 'SANDBOX_READY',
    labels: { app: 'web', 'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.uid': '11111111-2222-3333-4444-555555555555' },
  };
  const container = (id: string, name: string): CriContainer => ({
    id: id.repeat(64), pod_sandbox_id: sandbox.id, metadata: { name, attempt: 0 }, image: { image: 'img:1' }, image_ref: '', state: 'CONTAINER_RUNNING', labels: {},
  });

  it('labels a pod as pod/namespace/pod_uid with its app containers, and copies pod labels', () => {
    const labels = namespaceLabels(podRefs(sandbox, [container('b', 'nginx'), container('c', 'sidecar')]), ['app']);
    expect({ ...labels }).toEqual({
      container: 'nginx,sidecar',
      container_id: `${'b'.repeat(12)},${'c'.repeat(12)}`,
      image: 'img:1',
      pod: 'web-0',
      namespace: 'shop',
      pod_uid: '11111111-2222-3333-4444-555555555555',
      kube_container: 'nginx,sidecar',
      app: 'web',
    });
  });

  it('a pod with no running container is still its pod; metadata stands in for missing labels', () => {
    const labels = namespaceLabels(podRefs({ ...sandbox, labels: {} }, []), []);
    expect({ ...labels }).toEqual({ container: 'web-0', container_id: 'a'.repeat(12), pod: 'web-0', namespace: 'shop', pod_uid: '11111111-2222-3333-4444-555555555555' });
  });
});
