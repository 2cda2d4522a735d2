#!/usr/bin/env bash
# systemd-analyze, for test/integration/systemd.test.ts (`verify` and `security --offline=yes`
# of systemd/sockpulse.service). Nothing to do when the system has it (Debian's `systemd`).
# Otherwise the `systemd` package is NOT installed: in a container its maintainer scripts create
# system users and groups, write /etc/machine-id and enable units — too invasive for a test
# dependency. Instead the bookworm .debs of systemd and the libraries its tools link against are
# fetched with `apt-get download` and unpacked with `dpkg-deb -x` into .build/systemd/, and
# .build/systemd/systemd-analyze is a wrapper that points the loader and the unit search path
# into that tree. Nothing is installed and no service is started.
# Idempotent: exits at once when either binary runs. Root only for the fetch; apt use is
# serialised by /tmp/sockpulse-apt.lock. Any failure exits non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="$ROOT/.build/systemd"
WRAPPER="$DEST/systemd-analyze"
# libsystemd-shared holds libsystemd-shared-252.so; the others are libraries it links that a
# minimal image may lack (dpkg-deb -x of one already installed is harmless).
PKGS=(systemd libsystemd-shared libip4tc2 libkmod2 libapparmor1 libseccomp2 libcryptsetup12 libssl3)

fail() {
  echo "deps-systemd.sh: ERROR: $*" >&2
  exit 1
}

if [ -z "${SOCKPULSE_SYSTEMD_PRIVATE:-}" ] && command -v systemd-analyze >/dev/null 2>&1 &&
  systemd-analyze --version >/dev/null 2>&1; then
  exit 0
fi
if [ -x "$WRAPPER" ] && "$WRAPPER" --version >/dev/null 2>&1; then
  exit 0
fi
[ "$(id -u)" = 0 ] || fail "not root: cannot fetch systemd-analyze (run as root, e.g. through test/setup/prepare.sh)"
for c in apt-get dpkg-deb flock; do
  command -v "$c" >/dev/null 2>&1 || fail "'$c' not found (a Debian system with apt is required)"
done

t0=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/sockpulse-systemd-debs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "deps-systemd.sh: fetching ${PKGS[*]} into $DEST (unpacked, not installed)" >&2
(
  flock -w 600 9 || fail "could not lock /tmp/sockpulse-apt.lock within 600 s"
  if ! (cd "$work" && apt-get -q download "${PKGS[@]}") >"$work/download.log" 2>&1; then
    # Empty or stale package lists: refresh the system's lists once, then retry.
    apt-get -q update >"$work/update.log" 2>&1 || fail "apt-get update failed:$(echo; tail -n 15 "$work/update.log")"
    (cd "$work" && apt-get -q download "${PKGS[@]}") >"$work/download.log" 2>&1 ||
      fail "apt-get download ${PKGS[*]} failed:$(echo; tail -n 15 "$work/download.log")"
  fi
) 9>/tmp/sockpulse-apt.lock

tmp="$(mktemp -d "$ROOT/.build/systemd.XXXXXX")"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; fail "dpkg-deb -x $deb failed"; }
done
[ -x "$tmp/usr/bin/systemd-analyze" ] || { rm -rf "$tmp"; fail "the .debs hold no usr/bin/systemd-analyze"; }
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
# LD_LIBRARY_PATH is searched before the binary's RUNPATH (/usr/lib/<arch>/systemd); the unit
# path's trailing ':' keeps the default search path after the unpacked units (network-online.target…).
cat >"$tmp/systemd-analyze" <<WRAP
#!/bin/sh
D="\$(cd "\$(dirname "\$0")" && pwd)"
LD_LIBRARY_PATH="\$D/usr/lib/$multiarch/systemd:\$D/usr/lib/$multiarch:\$D/lib/$multiarch\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" \\
SYSTEMD_UNIT_PATH="\$D/lib/systemd/system:" exec "\$D/usr/bin/systemd-analyze" "\$@"
WRAP
chmod +x "$tmp/systemd-analyze"
"$tmp/systemd-analyze" --version >/dev/null 2>&1 || {
  out="$("$tmp/systemd-analyze" --version 2>&1 | tail -n 5)"
  rm -rf "$tmp"
  fail "the unpacked systemd-analyze does not run: $out"
}
rm -rf "$DEST"
mv "$tmp" "$DEST"
echo "deps-systemd.sh: systemd-analyze unpacked into $DEST in $(($(date +%s) - t0)) s" >&2
