#!/usr/bin/env bash
# The two real ClickHouse engines of the ClickHouse sink's tests, in the build folder (nothing is
# installed on the system, nothing becomes a dependency of the project):
#  - .build/chdb/: the npm package `chdb` (a current ClickHouse embedded in a Node addon, ~550 MB),
#    `npm install --prefix` from the npm registry; the tests load it from there.
#  - .build/clickhouse/: clickhouse-server 18.16 (the only one in Debian bookworm) and the library
#    packages it needs, `apt-get download`ed and unpacked with `dpkg-deb -x`; the tests run it with
#    LD_LIBRARY_PATH at the unpacked lib dirs and their own config.
# Idempotent: each part exits at once when it is there and runs. Root only for the apt part
# (prepare.sh runs it as root); apt use is serialised by /tmp/sockpulse-apt.lock.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHDB_VERSION="${SOCKPULSE_CHDB_VERSION:-3.4.0}"
CHDB_DIR="$ROOT/.build/chdb"
CH_DIR="$ROOT/.build/clickhouse"
CH_BIN="$CH_DIR/usr/sbin/clickhouse-server"

fail() {
  echo "deps-clickhouse.sh: ERROR: $*" >&2
  exit 1
}

# chdb: a pinned version; present when its package.json says that version.
chdb_version() { node -p "require('$CHDB_DIR/node_modules/chdb/package.json').version" 2>/dev/null || true; }
if [ "$(chdb_version)" != "$CHDB_VERSION" ]; then
  t0=$(date +%s)
  echo "deps-clickhouse.sh: installing chdb@$CHDB_VERSION into $CHDB_DIR (~550 MB)" >&2
  mkdir -p "$CHDB_DIR"
  [ -f "$CHDB_DIR/package.json" ] || echo '{"name":"sockpulse-test-chdb","private":true}' >"$CHDB_DIR/package.json"
  npm install --prefix "$CHDB_DIR" --no-audit --no-fund --no-save "chdb@$CHDB_VERSION" >"$CHDB_DIR/install.log" 2>&1 ||
    fail "npm install chdb@$CHDB_VERSION failed:$(echo; tail -n 15 "$CHDB_DIR/install.log")"
  [ "$(chdb_version)" = "$CHDB_VERSION" ] || fail "chdb@$CHDB_VERSION is not in $CHDB_DIR after npm install"
  echo "deps-clickhouse.sh: chdb@$CHDB_VERSION installed in $(($(date +%s) - t0)) s" >&2
fi

CH_LIBS="$CH_DIR/usr/lib/x86_64-linux-gnu:$CH_DIR/lib/x86_64-linux-gnu"
# The server has no --version (18.16): every library it needs resolves, and the client (the same
# libclickhouse) runs.
ch_runs() {
  LD_LIBRARY_PATH="$CH_LIBS" ldd "$CH_BIN" 2>&1 | grep -q 'not found' && return 1
  LD_LIBRARY_PATH="$CH_LIBS" "$CH_DIR/usr/bin/clickhouse-client" --version >/dev/null 2>&1
}
if [ -x "$CH_BIN" ] && ch_runs; then
  exit 0
fi
[ "$(id -u)" = 0 ] || fail "not root: cannot fetch clickhouse-server (run as root, e.g. through test/setup/prepare.sh)"
for c in apt-get dpkg-deb flock; do
  command -v "$c" >/dev/null 2>&1 || fail "'$c' not found (a Debian system with apt is required)"
done
t0=$(date +%s)
work="$ROOT/.build/clickhouse-debs"
rm -rf "$work"
mkdir -p "$work"
chmod 0755 "$work"
echo "deps-clickhouse.sh: fetching clickhouse-server 18.16 and its libraries from Debian into $CH_DIR" >&2
(
  flock -w 600 9 || fail "could not lock /tmp/sockpulse-apt.lock within 600 s"
  # What a real install would bring (the server, its client, common files, their libraries).
  pkgs() { apt-get install -s -q clickhouse-server clickhouse-client 2>/dev/null | awk '/^Inst /{print $2}'; }
  list="$(pkgs)"
  if [ -z "$list" ]; then
    apt-get update -q -o DPkg::Lock::Timeout=300 >"$work/update.log" 2>&1 || fail "apt-get update failed:$(echo; tail -n 15 "$work/update.log")"
    list="$(pkgs)"
  fi
  [ -n "$list" ] || fail "apt-get knows no clickhouse-server package (Debian bookworm has 18.16)"
  # shellcheck disable=SC2086
  (cd "$work" && apt-get download -q $list) >"$work/download.log" 2>&1 ||
    fail "apt-get download failed:$(echo; tail -n 15 "$work/download.log")"
) 9>/tmp/sockpulse-apt.lock
tmp="$(mktemp -d "$ROOT/.build/clickhouse.XXXXXX")"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; fail "dpkg-deb -x $deb failed"; }
done
[ -x "$tmp/usr/sbin/clickhouse-server" ] || { rm -rf "$tmp"; fail "the packages hold no usr/sbin/clickhouse-server"; }
rm -rf "$CH_DIR"
mv "$tmp" "$CH_DIR"
ch_runs || fail "the unpacked clickhouse-server cannot run:$(echo; LD_LIBRARY_PATH="$CH_LIBS" ldd "$CH_BIN" 2>&1 | grep 'not found')"
rm -rf "$work"
echo "deps-clickhouse.sh: $(LD_LIBRARY_PATH="$CH_LIBS" "$CH_DIR/usr/bin/clickhouse-client" --version 2>&1 | head -n1) (server and client) unpacked into $CH_DIR in $(($(date +%s) - t0)) s" >&2
