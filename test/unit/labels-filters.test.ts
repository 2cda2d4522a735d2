import { ContainerRef } from '../../src/core/model';
import { namespaceLabels } from '../../src/discover/labels';
import { compileFilters } from '../../src/discover/filters';

const c = (name: string, labels: Record<string, string> = {}, image = 'img:1'): ContainerRef => ({
  id: `${name}0123456789abcdef`,
  name,
  image,
  labels,
});

describe('namespaceLabels', () => {
  it('names a plain container', () => {
    expect(namespaceLabels([c('web', { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' })], [])).toEqual({
      container: 'web',
      container_id: 'web012345678',
      image: 'img:1',
      compose_project: 'shop',
      compose_service: 'web',
    });
  });

  it('describes a pod by its app containers, not its sandbox', () => {
    const pod = { 'io.kubernetes.pod.name': 'api-7d9', 'io.kubernetes.pod.namespace': 'prod' };
    const pause = c('k8s_POD_api-7d9', { ...pod, 'io.kubernetes.docker.type': 'podsandbox' }, 'pause:3.9');
    const app = c('k8s_app_api-7d9', { ...pod, 'io.kubernetes.container.name': 'app', 'io.kubernetes.docker.type': 'container' });
    const side = c('k8s_proxy_api-7d9', { ...pod, 'io.kubernetes.container.name': 'proxy' }, 'envoy:1');
    expect(namespaceLabels([pause, app, side], [])).toEqual({
      container: 'k8s_app_api-7d9,k8s_proxy_api-7d9',
      container_id: 'k8s_app_api-,k8s_proxy_ap',
      image: 'envoy:1,img:1',
      pod: 'api-7d9',
      namespace: 'prod',
      kube_container: 'app,proxy',
    });
  });

  it('copies labels named like Object.prototype members exactly: absent stays absent, __proto__ is kept', () => {
    const proto = ['constructor', 'toString', 'hasOwnProperty', '__proto__'];
    const withProto = c('b', JSON.parse('{"__proto__": "p", "toString": "t"}'));
    expect({ ...namespaceLabels([c('a')], proto) }).toEqual({ container: 'a', container_id: 'a0123456789a', image: 'img:1' });
    const l = namespaceLabels([withProto], proto);
    expect(Object.keys(l).sort()).toEqual(['__proto__', 'container', 'container_id', 'image', 'toString']);
    expect([l['__proto__'], l.toString]).toEqual(['p', 't']);
    // the filters see the same: a rule on an absent `constructor` label matches nothing
    expect(compileFilters({ include_names: [], exclude_names: [], include_labels: ['constructor'], exclude_labels: [] })(c('a'))).toBe(false);
  });

  it('copies allow-listed labels only', () => {
    const l = namespaceLabels([c('a', { team: 'db', secret: 'x' })], ['team', 'absent']);
    expect(l.team).toBe('db');
    expect(l).not.toHaveProperty('secret');
    expect(l).not.toHaveProperty('absent');
  });

  it('is empty for no containers', () => {
    expect(namespaceLabels([], ['team'])).toEqual({});
  });
});

describe('compileFilters', () => {
  const none = { include_names: [], exclude_names: [], include_labels: [], exclude_labels: [] };
  const web = c('web-1', { tier: 'front' });
  const db = c('db', { tier: 'back', backup: 'yes' });

  it('keeps everything by default', () => {
    const f = compileFilters(none);
    expect([web, db].filter(f)).toEqual([web, db]);
  });
  it('anchors name patterns', () => {
    expect(compileFilters({ ...none, include_names: ['web'] })(web)).toBe(false);
    expect(compileFilters({ ...none, include_names: ['web-.*'] })(web)).toBe(true);
  });
  it('excludes by name', () => {
    expect([web, db].filter(compileFilters({ ...none, exclude_names: ['db'] }))).toEqual([web]);
  });
  it('matches labels by presence or by value pattern', () => {
    expect([web, db].filter(compileFilters({ ...none, include_labels: ['backup'] }))).toEqual([db]);
    expect([web, db].filter(compileFilters({ ...none, include_labels: ['tier=fr.*'] }))).toEqual([web]);
    expect([web, db].filter(compileFilters({ ...none, exclude_labels: ['tier=back'] }))).toEqual([web]);
  });
  it('names the key and pattern of a bad regular expression', () => {
    expect(() => compileFilters({ ...none, exclude_names: ['(['] })).toThrow(/filters\.exclude_names: "\(\[" is not a valid regular expression/);
    expect(() => compileFilters({ ...none, include_labels: ['=x'] })).toThrow(/filters\.include_labels: "=x" has no label name/);
  });
});
