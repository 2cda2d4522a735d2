#!/usr/bin/env bash
# promtool, for the Prometheus sink's tests (`promtool check metrics`). Idempotent; a no-op when
# promtool is on PATH. Called by prepare.sh (as root); can be run by hand.
#
# Debian bookworm ships promtool only inside the `prometheus` server package, whose postinst
# starts the server. Service starts are refused during the install (a temporary policy-rc.d when
# none exists), the unit is disabled where systemd runs, and a prometheus server that came up
# anyway during our install is stopped by pid: the script never leaves a server running.
set -euo pipefail

LOCK=/tmp/sockpulse-apt.lock
self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
have() { command -v promtool >/dev/null 2>&1; }

if [ "${1:-}" != "--locked" ]; then
  have && exit 0
  if [ "$(id -u)" != 0 ]; then
    echo "deps-prometheus.sh: ERROR: promtool is missing and only root can install it" \
      "(apt-get install --no-install-recommends prometheus); the Prometheus sink's tests need it" >&2
    exit 1
  fi
  # -o: apt's children (a service, should one start) must not inherit the lock.
  exec flock -o "$LOCK" bash "$self" --locked
fi

have && exit 0 # installed by whoever held the lock before us
echo "deps-prometheus.sh: promtool missing — installing Debian's prometheus package" >&2

servers() { # pids of running prometheus servers
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/prometheus ] && echo "${p#/proc/}"
  done
  return 0
}
before=" $(servers | tr '\n' ' ') "

policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
trap 'if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi' EXIT

export DEBIAN_FRONTEND=noninteractive
install() {
  apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 prometheus
}
# Only refresh the package lists when the package is unknown or the lists are stale.
if ! apt-cache show prometheus >/dev/null 2>&1 || ! install; then
  apt-get update -q -o DPkg::Lock::Timeout=300
  install
fi

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
