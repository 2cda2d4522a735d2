// Labels that describe a network namespace, derived from the containers in it.
import { ContainerRef } from '../core/model';
import { label, labelMap } from '../core/labels';

/** Docker/Kubernetes/Compose labels promoted to short, stable label names. */
const WELL_KNOWN: Record<string, string> = {
  'io.kubernetes.pod.name': 'pod',
  'io.kubernetes.pod.namespace': 'namespace',
  'io.kubernetes.pod.uid': 'pod_uid',
  'io.kubernetes.container.name': 'kube_container',
  'com.docker.compose.project': 'compose_project',
  'com.docker.compose.service': 'compose_service',
};

/** A Kubernetes pod's sandbox ("pause") container: it owns the pod's namespace but runs no app. */
export function isSandbox(c: ContainerRef): boolean {
  return c.sandbox === true || label(c.labels, 'io.kubernetes.docker.type') === 'podsandbox' || /^k8s_POD_/.test(c.name ?? '');
}

/**
 * One label set for a namespace that may hold several containers (a pod). Per-container values
 * (name, id, image) list the app containers, leaving out the pod's sandbox unless it is alone;
 * several values are joined with ',' in a stable order. A copied label whose members disagree
 * is joined the same way.
 */
export function namespaceLabels(members: ContainerRef[], copy: readonly string[]): Record<string, string> {
  const out = labelMap();
  if (members.length === 0) return out;
  const apps = members.filter((c) => !isSandbox(c));
  const shown = apps.length > 0 ? apps : members;
  const put = (key: string, values: (string | undefined)[]): void => {
    const distinct = [...new Set(values.filter((v): v is string => !!v))].sort();
    if (distinct.length > 0) out[key] = distinct.join(',');
  };
  put('container', shown.map((c) => c.name));
  put('container_id', shown.map((c) => c.id.slice(0, 12)));
  put('image', shown.map((c) => c.image));
  for (const [docker, short] of Object.entries(WELL_KNOWN)) {
    put(short, (short === 'kube_container' ? apps : members).map((c) => label(c.labels, docker)));
  }
  for (const key of copy) put(key, members.map((c) => label(c.labels, key)));
  return out;
}
