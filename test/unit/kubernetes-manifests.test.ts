// deploy/kubernetes/sockpulse.yaml and the Helm chart deploy/helm/sockpulse: every object is checked
// against the Kubernetes OpenAPI schemas (kubernetes-models), against the field names of those
// schemas (the validators accept unknown fields; `kubectl apply` rejects them), against the
// security policy of the DaemonSet, and the ConfigMap's sockpulse.yaml is loaded by sockpulse's own
// config loader with the environment the DaemonSet sets, so a bad key fails here and not on a node.
//
// Helm cannot run here: the chart is rendered by renderChart() below, a deliberately tiny
// renderer of only the template constructs the chart uses. It is NOT Helm; a construct it does not
// know throws, so the chart cannot drift into something only real Helm would render.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import YAML from 'yaml';
import { loadConfig } from '../../src/config/load';
import { parseListen } from '../../src/core/listen';
import { DEFAULT_SOCKETS } from '../../src/discover/cri/settings';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('kubernetes-models/v1');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const apps = require('kubernetes-models/apps/v1');

const ROOT = path.resolve(__dirname, '../..');
const MANIFEST = path.join(ROOT, 'deploy/kubernetes/sockpulse.yaml');
const CHART = path.join(ROOT, 'deploy/helm/sockpulse');
type Obj = Record<string, any>;

const MODELS: Record<string, { model: any; dts: string }> = {
  Namespace: { model: core.Namespace, dts: 'kubernetes-models/v1/Namespace' },
  ServiceAccount: { model: core.ServiceAccount, dts: 'kubernetes-models/v1/ServiceAccount' },
  ConfigMap: { model: core.ConfigMap, dts: 'kubernetes-models/v1/ConfigMap' },
  DaemonSet: { model: apps.DaemonSet, dts: 'kubernetes-models/apps/v1/DaemonSet' },
};

function parseAll(text: string, what: string): Obj[] {
  return YAML.parseAllDocuments(text)
    .map((d, i) => {
      if (d.errors.length > 0) throw new Error(`${what} document ${i}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null);
}

/** Field names per interface from the kubernetes-models typings: unknown keys fail (as kubectl's strict validation). */
const fieldCache = new Map<string, Map<string, string | undefined>>();
function fieldsOf(spec: string, from?: string): Map<string, string | undefined> {
  const file = require.resolve(spec, from ? { paths: [from] } : undefined).replace(/\.js$/, '.d.ts');
  const hit = fieldCache.get(file);
  if (hit) return hit;
  const text = fs.readFileSync(file, 'utf8');
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) imports.set(m[1], m[2]);
  const body = /^export interface \w+[^{]*\{\n([\s\S]*?)^\}/m.exec(text)![1];
  const fields = new Map<string, string | undefined>();
  for (const m of body.matchAll(/^ {4}"(\w+)"\??: (?:Array<)?(\w*)/gm)) {
    const ref = imports.get(m[2]);
    fields.set(m[1], ref ? require.resolve(ref, { paths: [path.dirname(file)] }) : undefined);
  }
  fieldCache.set(file, fields);
  return fields;
}
function unknownFields(value: unknown, spec: string, at: string, from?: string): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, spec, `${at}[${i}]`, from));
  if (!value || typeof value !== 'object') return [];
  const fields = fieldsOf(spec, from);
  return Object.entries(value).flatMap(([k, v]) => {
    if (!fields.has(k)) return [`${at}.${k}`];
    const ref = fields.get(k);
    return ref ? unknownFields(v, ref, `${at}.${k}`) : [];
  });
}

function validate(o: Obj): void {
  const m = MODELS[o.kind];
  if (!m) throw new Error(`unexpected kind ${o.kind} (${o.metadata?.name})`);
  new m.model(o).validate(); // throws with the schema violations
  expect(unknownFields(o, m.dts, o.kind)).toEqual([]);
}

/** Kubernetes' $(VAR) expansion of env values, for the downward-API values of a node. */
function containerEnv(c: Obj, node: { name: string; ip: string }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (field !== undefined) env[e.name] = field === 'spec.nodeName' ? node.name : field === 'status.hostIP' ? node.ip : '';
    else env[e.name] = String(e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, n: string) => env[n] ?? all);
  }
  return env;
}

/** Loads the ConfigMap's sockpulse.yaml as the DaemonSet's container would. */
function loadAsPod(cm: Obj, ds: Obj) {
  const c = ds.spec.template.spec.containers[0];
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'spk-k8s-')), 'sockpulse.yaml');
  fs.writeFileSync(file, cm.data['sockpulse.yaml']);
  expect(c.args).toEqual(['-c', '/etc/sockpulse/sockpulse.yaml']);
  const mount = c.volumeMounts.find((m: Obj) => m.mountPath === '/etc/sockpulse');
  const vol = ds.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
  expect(vol.configMap.name).toBe(cm.metadata.name);
  const env = containerEnv(c, { name: 'node-a', ip: '10.0.0.7' });
  return { settings: loadConfig({ file, env }).settings, env };
}

/** The only host paths: the CRI runtimes' socket directories, each read-only at its own path (where cri.endpoint's defaults look). */
const RUNTIME_DIRS = ['/run/containerd', '/run/crio', '/run/k3s/containerd'];
function checkHostPaths(pod: Obj, c: Obj): void {
  const host = pod.volumes.filter((v: Obj) => v.hostPath !== undefined);
  if (host.length === 0) return;
  expect(host.map((v: Obj) => v.hostPath)).toEqual(RUNTIME_DIRS.map((p) => ({ path: p, type: 'DirectoryOrCreate' })));
  for (const v of host) {
    const mounts = c.volumeMounts.filter((m: Obj) => m.name === v.name);
    expect(mounts).toEqual([{ name: v.name, mountPath: v.hostPath.path, readOnly: true }]);
  }
  // the defaults sockpulse tries are under those directories (cri-dockerd's is not mounted: use the Docker socket there)
  for (const s of DEFAULT_SOCKETS.filter((x) => !x.includes('cri-dockerd'))) expect(RUNTIME_DIRS).toContain(path.dirname(s));
}

/** The policy both the plain manifest and the chart must keep. */
function checkPolicy(objs: Obj[]): { ds: Obj; cm: Obj } {
  const kinds = objs.map((o) => o.kind);
  for (const rbac of ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']) expect(kinds).not.toContain(rbac);
  const ds = objs.find((o) => o.kind === 'DaemonSet')!;
  const sa = objs.find((o) => o.kind === 'ServiceAccount')!;
  const cm = objs.find((o) => o.kind === 'ConfigMap')!;
  expect(kinds.filter((k) => k === 'DaemonSet')).toHaveLength(1);
  expect(sa.automountServiceAccountToken).toBe(false);
  const pod = ds.spec.template.spec;
  expect(pod.serviceAccountName).toBe(sa.metadata.name);
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.hostPID).toBe(true);
  expect(pod.hostNetwork ?? false).toBe(false);
  expect(pod.hostIPC ?? false).toBe(false);
  expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
  expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  expect(pod.initContainers ?? []).toEqual([]);
  expect(pod.containers).toHaveLength(1);
  const c = pod.containers[0];
  checkHostPaths(pod, c);
  const sc = c.securityContext;
  expect(sc.privileged ?? false).toBe(false);
  expect(sc.allowPrivilegeEscalation).toBe(false);
  expect(sc.readOnlyRootFilesystem).toBe(true);
  expect(sc.capabilities).toEqual({ drop: ['ALL'], add: ['SYS_PTRACE'] });
  expect(sc.runAsUser).toBe(0);
  expect(sc.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  expect(c.env.find((e: Obj) => e.name === 'NODE_NAME').valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
  expect(c.env.find((e: Obj) => e.name === 'SOCKPULSE_HOSTNAME').value).toBe('$(NODE_NAME)');
  for (const kind of ['requests', 'limits']) {
    expect(Object.keys(c.resources[kind]).sort()).toEqual(['cpu', 'memory']);
  }
  expect(c.volumeMounts.every((m: Obj) => m.readOnly === true)).toBe(true);
  return { ds, cm };
}

/** Probes on the health port, which is the configured health.listen (every interface of the pod). */
function checkProbes(ds: Obj, healthListen: string): void {
  const c = ds.spec.template.spec.containers[0];
  expect(healthListen).not.toBe(''); // empty = no health endpoint: every probe would fail
  const listen = parseListen(healthListen, 'health.listen');
  expect(listen.host).toBeUndefined(); // the kubelet probes the pod IP, not loopback
  const port = c.ports.find((p: Obj) => p.name === 'health');
  expect(port).toMatchObject({ containerPort: listen.port, protocol: 'TCP' });
  expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
  expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
  // A liveness restart loses buffered points: at least two minutes of failures before one.
  expect(c.livenessProbe.failureThreshold * c.livenessProbe.periodSeconds).toBeGreaterThanOrEqual(120);
  expect(c.livenessProbe.timeoutSeconds).toBeLessThan(c.livenessProbe.periodSeconds);
  expect(c.readinessProbe.timeoutSeconds).toBeLessThan(c.readinessProbe.periodSeconds);
}

/** The metrics port, when the Prometheus sink is on, is its configured listen port. */
function checkMetricsPort(ds: Obj, prometheus: { enabled: boolean; listen: string }): void {
  const ports: Obj[] = ds.spec.template.spec.containers[0].ports;
  const metrics = ports.find((p) => p.name === 'metrics');
  if (!prometheus.enabled) return expect(metrics).toBeUndefined();
  const listen = parseListen(prometheus.listen);
  expect(listen.host).toBeUndefined(); // scraped on the pod IP
  expect(metrics).toMatchObject({ containerPort: listen.port, protocol: 'TCP' });
  expect(listen.port).not.toBe(ports.find((p) => p.name === 'health')?.containerPort); // two listeners, two ports
}

describe('deploy/kubernetes/sockpulse.yaml', () => {
  const objs = parseAll(fs.readFileSync(MANIFEST, 'utf8'), 'sockpulse.yaml');

  test('only the expected kinds, each valid against the Kubernetes schemas with no unknown fields', () => {
    expect(objs.map((o) => o.kind)).toEqual(['Namespace', 'ServiceAccount', 'ConfigMap', 'DaemonSet']);
    for (const o of objs) validate(o);
  });

  test('the validation catches what it should (a wrong type, an unknown field)', () => {
    const ds = structuredClone(objs.find((o) => o.kind === 'DaemonSet')!);
    ds.spec.template.spec.hostPID = 'yes';
    expect(() => new apps.DaemonSet(ds).validate()).toThrow(/hostPID/);
    const typo = structuredClone(objs.find((o) => o.kind === 'DaemonSet')!);
    typo.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
    expect(unknownFields(typo, MODELS.DaemonSet.dts, 'DaemonSet')).toEqual([
      'DaemonSet.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem',
    ]);
  });

  test('security policy, probes, resources, scheduling', () => {
    const { ds } = checkPolicy(objs);
    checkProbes(ds, ':9478');
    checkMetricsPort(ds, { enabled: true, listen: ':9477' });
    expect(objs.every((o) => o.kind === 'Namespace' || o.metadata.namespace === 'sockpulse')).toBe(true);
    const ns = objs.find((o) => o.kind === 'Namespace')!;
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  test('the ConfigMap loads with the real config loader, with the env the DaemonSet sets', () => {
    const { ds, cm } = checkPolicy(objs);
    const { settings: s, env } = loadAsPod(cm, ds);
    expect(s.hostname).toBe('node-a');
    expect(s.discovery.mode).toBe('auto');
    expect(s.discovery.proc_root).toBe('/proc');
    expect(ds.spec.template.spec.volumes.filter((v: Obj) => v.hostPath).map((v: Obj) => v.hostPath.path)).toEqual(RUNTIME_DIRS);
    expect(s.output.enabled).toBe(false);
    expect(s.sinks.falcon).toMatchObject({ enabled: true, url: 'http://10.0.0.7:1988/v1/push', timeout: 20 });
    expect(s.sinks.statsd).toMatchObject({ enabled: false, host: '10.0.0.7' });
    expect(s.sinks.otlp.enabled).toBe(false);
    expect(s.sinks.prometheus).toMatchObject({ enabled: true, listen: ':9477', path: '/metrics' });
    expect(s.health.listen).toBe(':9478');
    expect(env.SOCKPULSE_HEALTH_LISTEN).toBeUndefined(); // set in the ConfigMap only
    checkProbes(ds, s.health.listen);
    checkMetricsPort(ds, s.sinks.prometheus);
  });

  test('the probe check catches a health.listen that is off, on loopback or not the container port', () => {
    const ds = objs.find((o) => o.kind === 'DaemonSet')!;
    for (const listen of ['', '127.0.0.1:9478', ':9479']) expect(() => checkProbes(ds, listen)).toThrow();
  });

  test('the commented StatsD and OTLP alternatives load too once uncommented', () => {
    const cm = structuredClone(objs.find((o) => o.kind === 'ConfigMap')!);
    const text: string = cm.data['sockpulse.yaml'];
    cm.data['sockpulse.yaml'] = text.replace(/^(\s*)# ((?:statsd|otlp):|  (?:enabled|port|tag_style|endpoint|protocol):)/gm, '$1$2');
    expect(cm.data['sockpulse.yaml']).not.toBe(text);
    const { settings: s } = loadAsPod(cm, objs.find((o) => o.kind === 'DaemonSet')!);
    expect(s.sinks.statsd).toMatchObject({ enabled: true, host: '10.0.0.7', port: 8125, tag_style: 'dogstatsd' });
    expect(s.sinks.otlp).toMatchObject({ enabled: true, protocol: 'http/protobuf' });
  });
});

// ---- the tiny template renderer (NOT Helm): only what deploy/helm/sockpulse/templates use ----
// {{ .Values.a.b }}, {{ .Release.Name }}, {{ .Release.Namespace }}, {{ include "n" . }},
// {{ toYaml X }}, pipes `| quote` and `| nindent N`, {{ if X }} … {{ end }}, {{ define "n" }} … {{ end }},
// and the {{- -}} whitespace trimming. Anything else throws.
type Node = string | { expr: string } | { if: string; body: Node[] } | { define: string; body: Node[] };
function parseTemplate(src: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    if (text) stack[stack.length - 1].push(text);
    trimNext = m[3] === '-';
    last = re.lastIndex;
    const action = m[2];
    let k: RegExpExecArray | null;
    if (action === 'end') {
      if (stack.length === 1) throw new Error('unbalanced {{ end }}');
      stack.pop();
    } else if ((k = /^if (\S+)$/.exec(action)) || (k = /^define "([\w.-]+)"$/.exec(action))) {
      const node = action.startsWith('if') ? { if: k[1], body: [] } : { define: k[1], body: [] };
      stack[stack.length - 1].push(node);
      stack.push(node.body);
    } else stack[stack.length - 1].push({ expr: action });
  }
  if (stack.length !== 1) throw new Error('missing {{ end }}');
  const rest = src.slice(last);
  root.push(trimNext ? rest.replace(/^\s+/, '') : rest);
  return root;
}
interface Ctx { Values: Obj; Release: Obj; defines: Map<string, Node[]> }
function lookup(ref: string, ctx: Ctx): unknown {
  if (!/^(\.Values|\.Release)(\.\w+)+$/.test(ref)) throw new Error(`unsupported value ${ref}`);
  return ref.slice(1).split('.').reduce<any>((o, k) => (o == null ? undefined : o[k]), ctx);
}
function evalExpr(expr: string, ctx: Ctx): unknown {
  const [head, ...pipes] = expr.split('|').map((s) => s.trim());
  let k: RegExpExecArray | null;
  let v: unknown;
  if ((k = /^include "([\w.-]+)" \.$/.exec(head))) v = renderNodes(ctx.defines.get(k[1]) ?? [], ctx).trim();
  else if ((k = /^toYaml (\S+)$/.exec(head))) v = YAML.stringify(lookup(k[1], ctx)).trimEnd();
  else v = lookup(head, ctx);
  for (const p of pipes) {
    if (p === 'quote') v = JSON.stringify(String(v ?? ''));
    else if ((k = /^nindent (\d+)$/.exec(p))) v = '\n' + String(v).split('\n').map((l) => ' '.repeat(Number(k![1])) + l).join('\n');
    else throw new Error(`unsupported pipe ${p}`);
  }
  if (v === undefined || v === null) throw new Error(`${expr}: no value`);
  return v;
}
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}
function renderNodes(nodes: Node[], ctx: Ctx): string {
  return nodes
    .map((n) => {
      if (typeof n === 'string') return n;
      if ('expr' in n) return String(evalExpr(n.expr, ctx));
      if ('if' in n) return truthy(lookup(n.if, ctx)) ? renderNodes(n.body, ctx) : '';
      ctx.defines.set(n.define, n.body);
      return '';
    })
    .join('');
}
function renderChart(values: Obj, release = { Name: 'sockpulse', Namespace: 'monitoring' }): Obj[] {
  const dir = path.join(CHART, 'templates');
  const ctx: Ctx = { Values: values, Release: release, defines: new Map() };
  const files = fs.readdirSync(dir).sort();
  for (const f of files.filter((f) => f.endsWith('.tpl'))) renderNodes(parseTemplate(fs.readFileSync(path.join(dir, f), 'utf8')), ctx);
  return files
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAll(renderNodes(parseTemplate(fs.readFileSync(path.join(dir, f), 'utf8')), ctx), f));
}
// ---- end of the renderer ----

describe('deploy/helm/sockpulse (rendered by the tiny renderer above, not by Helm)', () => {
  const chart = YAML.parse(fs.readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8'));
  const values: Obj = YAML.parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8'));
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

  test('Chart.yaml is a v2 application chart of this version', () => {
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'sockpulse', type: 'application', appVersion: pkg.version });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(values.image.tag).toBe(pkg.version);
  });

  const variants: [string, Obj][] = [
    ['default values (Open-Falcon + Prometheus)', values],
    ['StatsD only', { ...values, sinks: { ...values.sinks, falcon: { enabled: false }, statsd: { ...values.sinks.statsd, enabled: true } }, prometheus: { enabled: false, port: 9477 } }],
    ['OTLP only, health on another port', { ...values, health: { port: 9600 }, sinks: { ...values.sinks, falcon: { enabled: false }, otlp: { ...values.sinks.otlp, enabled: true } }, prometheus: { enabled: false, port: 9477 } }],
    ['a collector switched off, a sink key the template does not name (verbatim sections)', { ...values, collectors: { protocols: { enabled: false } }, sinks: { ...values.sinks, statsd: { ...values.sinks.statsd, enabled: true, prefix: 'k8s' } } }],
    ['no runtime sockets mounted, procfs discovery, a cri section', { ...values, runtimeSockets: { mount: false }, discovery: { mode: 'procfs' }, cri: { timeout: 2, copy_labels: ['app'] } }],
    ['OTLP + Prometheus, no node-local addresses', { ...values, nodeLocal: { falconUrl: '', statsdHost: '' }, sinks: { ...values.sinks, falcon: { enabled: false }, otlp: { ...values.sinks.otlp, enabled: true } } }],
  ];

  test.each(variants)('%s: renders, validates, keeps the policy and loads', (_name, v) => {
    const objs = renderChart(v);
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'DaemonSet', 'ServiceAccount']);
    for (const o of objs) {
      validate(o);
      expect(o.metadata.namespace).toBe('monitoring');
    }
    const { ds, cm } = checkPolicy(objs);
    const { settings: s } = loadAsPod(cm, ds);
    expect(s.hostname).toBe('node-a');
    expect(s.discovery.mode).toBe(v.discovery.mode);
    expect(s.cri).toMatchObject(v.cri);
    expect(ds.spec.template.spec.volumes.some((vol: Obj) => vol.hostPath)).toBe(v.runtimeSockets.mount);
    for (const sink of ['falcon', 'statsd', 'otlp'] as const) expect(s.sinks[sink].enabled).toBe(v.sinks[sink].enabled);
    expect(s.sinks.prometheus.enabled).toBe(v.prometheus.enabled);
    for (const [name, c] of Object.entries(v.collectors as Obj)) expect(s.collectors[name]).toMatchObject(c as Obj);
    if (v.sinks.statsd.prefix) expect(s.sinks.statsd.prefix).toBe(v.sinks.statsd.prefix);
    if (v.nodeLocal.falconUrl) expect(s.sinks.falcon.url).toBe('http://10.0.0.7:1988/v1/push');
    else expect(ds.spec.template.spec.containers[0].env.map((e: Obj) => e.name)).toEqual(['NODE_NAME', 'NODE_IP', 'SOCKPULSE_HOSTNAME']);
    if (v.sinks.otlp.enabled) expect(s.sinks.otlp.endpoint).toBe(values.sinks.otlp.endpoint);
    const c = ds.spec.template.spec.containers[0];
    expect(c.image).toBe(`sockpulse:${pkg.version}`);
    expect(c.resources).toEqual(values.resources);
    // Probes always, on the health port, whatever sinks are enabled.
    expect(s.health.listen).toBe(`:${v.health.port}`);
    checkProbes(ds, s.health.listen);
    checkMetricsPort(ds, s.sinks.prometheus);
    expect(c.ports.map((p: Obj) => p.name)).toEqual(v.prometheus.enabled ? ['metrics', 'health'] : ['health']);
  });

  test('the chart and the plain manifest run the same pod (apart from names)', () => {
    const plain = parseAll(fs.readFileSync(MANIFEST, 'utf8'), 'sockpulse.yaml').find((o) => o.kind === 'DaemonSet')!;
    const rendered = renderChart(values).find((o) => o.kind === 'DaemonSet')!;
    const pod = (ds: Obj): Obj => ({ ...ds.spec.template.spec, serviceAccountName: undefined, volumes: undefined, nodeSelector: undefined });
    expect(pod(rendered)).toEqual(pod(plain));
  });
});
