#!/usr/bin/env bash
# Prepare the machine for the integration tests. Idempotent; fast when everything is present.
#  - root: install what is missing (docker.io, busybox-static, iproute2, util-linux, gcc,
#    libc6-dev, nftables), then compile test/fixtures/sockmix/sockmix.c into .build/sockmix (static).
#  - not root: say loudly that root-only integration tests will be skipped; exit 0,
#    or exit 1 under CI=true (CI must never skip silently).
# Called by `npm test` and again by test/setup/global-setup.ts when integration suites are selected
# (so plain `npx jest test/integration/…` works too; unit-only runs never call it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/test/fixtures/sockmix/sockmix.c"
OUT="$ROOT/.build/sockmix"

if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "prepare.sh: ERROR: CI=true but not running as root: the integration tests need root" >&2
    exit 1
  fi
  {
    echo "################################################################################"
    echo "# prepare.sh: NOT ROOT — root-only integration tests (Docker, network namespaces)"
    echo "# will be SKIPPED. Run as root (or CI=true) to run them."
    echo "################################################################################"
  } >&2
  exit 0
fi

# Is everything we need present? (static busybox: the image has no libc)
missing=()
for c in dockerd containerd runc ip unshare nsenter ss setpriv gcc tar nft; do
  command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then missing+=("busybox-static"); fi
libc_a="$(gcc -print-file-name=libc.a 2>/dev/null || true)"
if [ -z "$libc_a" ] || [ ! -f "$libc_a" ]; then missing+=("libc.a"); fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "prepare.sh: missing: ${missing[*]} — installing with apt-get" >&2
  # shellcheck source=test/setup/apt.sh
  . "$ROOT/test/setup/apt.sh"
  apt_install docker.io busybox-static iproute2 util-linux gcc libc6-dev tar nftables
fi

# Compile sockmix only when the source is newer than the binary.
if [ ! -x "$OUT" ] || [ "$SRC" -nt "$OUT" ]; then
  mkdir -p "$(dirname "$OUT")"
  gcc -static -O2 -Wall -Wextra -Werror -o "$OUT.tmp" "$SRC"
  mv -f "$OUT.tmp" "$OUT"
  echo "prepare.sh: built $OUT" >&2
fi

# Real backends some suites need (promtool, VictoriaMetrics, …): one script per backend, each
# idempotent and serialising apt through /tmp/sockpulse-apt.lock.
for deps in "$ROOT"/test/setup/deps-*.sh; do
  [ -e "$deps" ] || continue
  bash "$deps"
done
