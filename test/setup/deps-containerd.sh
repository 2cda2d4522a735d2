#!/usr/bin/env bash
# containerd (its CRI plugin) and the CNI plugins, for test/integration/cri.test.ts, which starts
# a private containerd (test/helpers/private-containerd.ts) with a `bridge` + `host-local` network.
# Nothing is started here: apt_install forbids service starts. Idempotent: exits at once when
# containerd, ctr and the bridge, host-local and loopback plugins are present.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CNI=/usr/lib/cni

have() {
  command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1 &&
    [ -x "$CNI/bridge" ] && [ -x "$CNI/host-local" ] && [ -x "$CNI/loopback" ]
}

have && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps-containerd.sh: ERROR: not root: cannot install containerd and containernetworking-plugins" >&2
  exit 1
fi
echo "deps-containerd.sh: installing containerd containernetworking-plugins" >&2
# shellcheck source=test/setup/apt.sh
. "$ROOT/test/setup/apt.sh"
apt_install containerd containernetworking-plugins
have || { echo "deps-containerd.sh: ERROR: containerd or $CNI/{bridge,host-local,loopback} still missing" >&2; exit 1; }
