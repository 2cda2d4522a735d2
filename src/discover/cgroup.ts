// Recovers the container a process belongs to from /proc/<pid>/cgroup, without any runtime API.
// Paths seen in the wild (cgroup v1 and v2, cgroupfs and systemd drivers):
//   /docker/<id>                                          docker, cgroupfs driver
//   /system.slice/docker-<id>.scope                       docker, systemd driver
//   /kubepods/burstable/pod<uid>/<id>                     kubelet, cgroupfs driver
//   /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope
//   .../crio-<id>.scope                                   CRI-O
//   /k8s.io/<id>                                          containerd's CRI, no cgroup parent given
//   /system.slice/containerd.service/default/<name>       containerd with its own namespaces (no id)

export interface CgroupContainer {
  id: string;
  /** Kubernetes pod UID when the path is under kubepods. */
  podUid?: string;
}

const ID = /(?:^|\/|-)(?:docker-|cri-containerd-|crio-|containerd-|libpod-)?([0-9a-f]{64})(?:\.scope)?$/;
const POD = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

export function parseCgroup(text: string): CgroupContainer | undefined {
  for (const line of text.split('\n')) {
    // hierarchy-ID:controllers:path — the path may itself contain ':'.
    const path = line.split(':').slice(2).join(':').trim();
    const m = ID.exec(path);
    if (!m) continue;
    const pod = POD.exec(path);
    return {
      id: m[1],
      ...(pod ? { podUid: pod[1].replace(/_/g, '-') } : {}),
    };
  }
  return undefined;
}
