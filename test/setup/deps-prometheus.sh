#!/usr/bin/env bash
# promtool, for the Prometheus sink's tests (`promtool check metrics`). Idempotent; a no-op when
# promtool is on PATH. Called by prepare.sh (as root); can be run by hand.
#
# Debian bookworm ships promtool only inside the `prometheus` server package, whose postinst
# starts the server. Service starts are refused during the install (a temporary policy-rc.d when
# none exists), the unit is disabled where systemd runs, and a prometheus server that came up
# anyway during our install is stopped by pid: the script never leaves a server running.
set -euo pipefail

have() { command -v promtool >/dev/null 2>&1; }

have && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "deps-prometheus.sh: ERROR: promtool is missing and only root can install it" \
    "(apt-get install --no-install-recommends prometheus); the Prometheus sink's tests need it" >&2
  exit 1
fi
echo "deps-prometheus.sh: promtool missing — installing Debian's prometheus package" >&2

servers() { # pids of running prometheus servers
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/prometheus ] && echo "${p#/proc/}"
  done
  return 0
}
before=" $(servers | tr '\n' ' ') "

# shellcheck source=test/setup/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
apt_install --no-install-recommends prometheus

if [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
for pid in $(servers); do
  case "$before" in *" $pid "*) ;; *) kill "$pid" 2>/dev/null || true ;; esac
done

if ! have; then
  echo "deps-prometheus.sh: ERROR: the prometheus package is installed but promtool is not on PATH" >&2
  exit 1
fi
echo "deps-prometheus.sh: $(promtool --version 2>&1 | head -n1)" >&2
