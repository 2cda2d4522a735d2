#!/usr/bin/env bash
# VictoriaMetrics, the real OTLP/protobuf receiver of test/integration/sink-otlp.test.ts.
# Bookworm has no usable package; Debian trixie's `victoria-metrics` (1.112) has
# POST /opentelemetry/v1/metrics. It is fetched with a PRIVATE apt configuration (its own
# sources list, lists, cache; /etc/apt and /var/lib/apt are never written) and unpacked with
# `dpkg-deb -x` into .build/victoria-metrics/ — nothing is installed.
# Idempotent: exits at once when the binary is there and runs. Root only (prepare.sh runs it as
# root); apt use is serialised by /tmp/sockpulse-apt.lock. Any failure exits non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="$ROOT/.build/victoria-metrics"
BIN="$DEST/usr/bin/victoria-metrics"
SUITE="${SOCKPULSE_VM_SUITE:-trixie}"
MIRROR="${SOCKPULSE_VM_MIRROR:-http://deb.debian.org/debian}"

fail() {
  echo "deps-otlp.sh: ERROR: $*" >&2
  exit 1
}

if [ -x "$BIN" ] && "$BIN" -version >/dev/null 2>&1; then
  exit 0
fi
[ "$(id -u)" = 0 ] || fail "not root: cannot fetch victoria-metrics (run as root, e.g. through test/setup/prepare.sh)"
for c in apt-get dpkg-deb flock; do
  command -v "$c" >/dev/null 2>&1 || fail "'$c' not found (a Debian system with apt is required)"
done

t0=$(date +%s)
APTDIR="$ROOT/.build/apt-trixie"
mkdir -p "$APTDIR/state/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/sources.list.d" "$APTDIR/work"
echo "deb $MIRROR $SUITE main" >"$APTDIR/sources.list"
# Read after the system's apt.conf.d: drop its hooks, so nothing outside $APTDIR is touched.
cat >"$APTDIR/apt.conf" <<'EOF'
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Post-Invoke;
#clear DPkg::Pre-Install-Pkgs;
EOF
arch="$(dpkg --print-architecture)"
apt_opts=(
  -c "$APTDIR/apt.conf"
  -o "Dir::Etc::sourcelist=$APTDIR/sources.list"
  -o "Dir::Etc::sourceparts=$APTDIR/sources.list.d"
  -o "Dir::State=$APTDIR/state"
  -o "Dir::Cache=$APTDIR/cache"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
  -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
  -o "Acquire::Languages=none" -o "APT::Sandbox::User=root"
  -q
)

echo "deps-otlp.sh: fetching victoria-metrics from Debian $SUITE ($MIRROR) into $DEST" >&2
(
  flock -w 600 9 || fail "could not lock /tmp/sockpulse-apt.lock within 600 s"
  apt-get "${apt_opts[@]}" update >"$APTDIR/update.log" 2>&1 ||
    fail "apt-get update of $SUITE failed (network? keyring?):$(echo; tail -n 15 "$APTDIR/update.log")"
  rm -f "$APTDIR/work"/victoria-metrics_*.deb
  (cd "$APTDIR/work" && apt-get "${apt_opts[@]}" download victoria-metrics) >"$APTDIR/download.log" 2>&1 ||
    fail "apt-get download victoria-metrics failed:$(echo; tail -n 15 "$APTDIR/download.log")"
) 9>/tmp/sockpulse-apt.lock

deb="$(ls "$APTDIR/work"/victoria-metrics_*.deb 2>/dev/null | head -n 1)"
[ -n "$deb" ] || fail "no victoria-metrics .deb was downloaded (see $APTDIR/download.log)"
tmp="$(mktemp -d "$ROOT/.build/victoria-metrics.XXXXXX")"
dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; fail "dpkg-deb -x $deb failed"; }
[ -x "$tmp/usr/bin/victoria-metrics" ] || { rm -rf "$tmp"; fail "$deb holds no usr/bin/victoria-metrics"; }
"$tmp/usr/bin/victoria-metrics" -version >/dev/null 2>&1 || { rm -rf "$tmp"; fail "the unpacked victoria-metrics does not run"; }
rm -rf "$DEST"
mv "$tmp" "$DEST"
rm -rf "$APTDIR" # only needed again when the binary is gone; the cold fetch is seconds
echo "deps-otlp.sh: $(basename "$deb") unpacked into $DEST in $(($(date +%s) - t0)) s" >&2
