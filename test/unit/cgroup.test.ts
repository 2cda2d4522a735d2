import { parseCgroup } from '../../src/discover/cgroup';

const ID = '4e3eb141f15fb547aa35e1ab7e686e8f31599a3ac3865df09034f93eb28962dd';
const UID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

describe('parseCgroup', () => {
  it.each([
    ['docker, cgroupfs, v1 (captured here)', `9:name=systemd:/docker/${ID}\n0::/docker/${ID}\n`, { id: ID }],
    ['docker, systemd driver', `0::/system.slice/docker-${ID}.scope`, { id: ID }],
    ['kubelet cgroupfs + docker', `0::/kubepods/burstable/pod${UID}/${ID}`, { id: ID, podUid: UID }],
    [
      'kubelet systemd + containerd',
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`,
      { id: ID, podUid: UID },
    ],
    ['containerd CRI, no cgroup parent given (its own namespace)', `0::/k8s.io/${ID}`, { id: ID }],
    ['CRI-O', `0::/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice/crio-${ID}.scope`, { id: ID, podUid: UID }],
  ])('%s', (_name, text, want) => {
    expect(parseCgroup(text)).toEqual(want);
  });

  it.each([
    ['a host process', '0::/init.scope\n'],
    ['a systemd service', '0::/system.slice/ssh.service'],
    ['empty', ''],
    ['a 63-character id', `0::/docker/${ID.slice(1)}`],
  ])('finds no container in %s', (_name, text) => {
    expect(parseCgroup(text)).toBeUndefined();
  });
});
