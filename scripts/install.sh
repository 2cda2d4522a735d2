#!/usr/bin/env bash
# Install (or upgrade) sockpulse as a systemd service from a release tarball, or remove it.
#
#   scripts/install.sh sockpulse-0.1.0.tgz      install / upgrade (idempotent)
#   scripts/install.sh --uninstall [--purge]    remove service, /opt/sockpulse, user (--purge: /etc/sockpulse too)
#
# The tarball is what `npm pack` makes (package/{bin,dist,config,package.json}) or the same with
# package/node_modules already in it (a bundled build, for hosts without registry access).
# Without node_modules, production dependencies are installed with `npm ci --omit=dev` from the
# lock file: package-lock.json (or npm-shrinkwrap.json) in the tarball, else the one of the
# checkout this script sits in — `npm pack` does not ship package-lock.json, and an install
# without a lock would resolve different versions than the ones tested.
#
# What it does: unpacks to /opt/sockpulse (root-owned, read-only to the service); creates the
# system user `sockpulse` (no login, no home) and adds it to `docker` when that group exists;
# installs /etc/sockpulse/sockpulse.yaml and sockpulse.env only when absent (never overwrites an
# admin's file); installs /etc/systemd/system/sockpulse.service (replaced on upgrade: put local
# changes in `systemctl edit sockpulse` drop-ins); checks the configuration as the service user;
# then `systemctl daemon-reload && systemctl enable --now` (restart on upgrade) — only when systemd
# is running; otherwise it says so and stops there.
set -euo pipefail

NAME=sockpulse
PREFIX=/opt/sockpulse
CONF_DIR=/etc/sockpulse
UNIT_DIR=/etc/systemd/system
UNIT=sockpulse.service
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHECKOUT="$(dirname "$SCRIPT_DIR")"

say() { echo "install.sh: $*" >&2; }
fail() {
  echo "install.sh: ERROR: $*" >&2
  exit 1
}
usage() {
  sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
systemd_running() { [ -d /run/systemd/system ]; }

uninstall() {
  local purge=$1
  if systemd_running; then
    systemctl disable --now "$UNIT" 2>/dev/null || true
  fi
  rm -f "$UNIT_DIR/$UNIT"
  rm -rf "$UNIT_DIR/$UNIT.d"
  if systemd_running; then systemctl daemon-reload; fi
  rm -rf "$PREFIX" "$PREFIX".new.* "$PREFIX".old.*
  if getent passwd "$NAME" >/dev/null; then userdel "$NAME"; fi
  if getent group "$NAME" >/dev/null; then groupdel "$NAME"; fi
  if [ "$purge" = 1 ]; then
    rm -rf "$CONF_DIR"
    say "removed $NAME (service, $PREFIX, user, $CONF_DIR)"
  else
    say "removed $NAME (service, $PREFIX, user); kept $CONF_DIR (--purge removes it)"
  fi
}

# A file shipped in the release, else the one next to this script (the checkout it came from).
shipped() {
  local rel=$1 stage=$2
  if [ -f "$stage/$rel" ]; then echo "$stage/$rel"; elif [ -f "$CHECKOUT/$rel" ]; then echo "$CHECKOUT/$rel"; fi
}

install_deps() {
  local stage=$1 lock
  if [ -d "$stage/node_modules" ]; then
    say "using the node_modules shipped in the tarball"
    return
  fi
  command -v npm >/dev/null 2>&1 || fail "the tarball has no node_modules and npm is not installed"
  lock="$(shipped npm-shrinkwrap.json "$stage")"
  [ -n "$lock" ] || lock="$(shipped package-lock.json "$stage")"
  [ -n "$lock" ] || fail "no package-lock.json in the tarball nor in $CHECKOUT: refusing an unlocked install"
  local want got
  want="$(node -p 'require(process.argv[1]).name' "$stage/package.json")"
  got="$(node -p 'require(process.argv[1]).name' "$lock")"
  [ "$want" = "$got" ] || fail "$lock is the lock of '$got', not of '$want'"
  [ "$lock" = "$stage/$(basename "$lock")" ] || cp "$lock" "$stage/package-lock.json"
  say "npm ci --omit=dev (lock: $lock)"
  # --ignore-scripts: the package's own `prepare` (tsc) is a build step, dist/ is already built.
  (cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 ||
    fail "npm ci failed"
  # unix-dgram (optional, StatsD over a unix socket only) is a native addon: build it if we can.
  if [ -d "$stage/node_modules/unix-dgram" ]; then
    (cd "$stage" && npm rebuild unix-dgram --loglevel=error) >&2 2>&1 ||
      say "warning: could not build unix-dgram (no compiler?): StatsD over a unix socket is unavailable"
  fi
}

install_release() {
  local tarball=$1
  [ -f "$tarball" ] || fail "no such tarball: $tarball"
  command -v node >/dev/null 2>&1 || fail "node is not installed (Node >= 20.6 is required)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=6)?0:1)' ||
    fail "node $(node --version) is too old: sockpulse needs >= 20.6"
  [ "$(command -v node)" = /usr/bin/node ] || [ "$(command -v node)" = /usr/local/bin/node ] ||
    say "warning: node is $(command -v node); the unit finds node through systemd's PATH (/usr/local/bin, /usr/bin)"

  # 1. Unpack next to the target, then swap: a failed install leaves the running one intact.
  local stage="$PREFIX.new.$$"
  rm -rf "$stage"
  mkdir -p "$stage"
  trap 'rm -rf "$stage"' EXIT
  tar -xzf "$tarball" -C "$stage" --strip-components=1 --no-same-owner ||
    fail "cannot unpack $tarball"
  [ -f "$stage/bin/sockpulse.js" ] && [ -d "$stage/dist" ] ||
    fail "$tarball is not a sockpulse release (no bin/sockpulse.js or dist/; was it built with npm pack?)"
  install_deps "$stage"
  chown -R root:root "$stage"
  chmod -R u+rwX,go+rX,go-w "$stage"
  chmod 0755 "$stage/bin/sockpulse.js"
  "$stage/bin/sockpulse.js" --version >/dev/null || fail "the unpacked release does not run"
  local version
  version="$("$stage/bin/sockpulse.js" --version)"

  # 2. The service user: a system account without login or home; docker group when present
  #    (read access to /var/run/docker.sock: note that this group is root-equivalent).
  if ! getent passwd "$NAME" >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --comment "sockpulse agent" "$NAME"
    say "created system user $NAME"
  fi
  if getent group docker >/dev/null; then
    usermod --append --groups docker "$NAME"
  else
    say "no 'docker' group: Docker discovery will fail with EACCES, discovery 'auto' falls back to /proc"
  fi

  # 3. Configuration: never overwrite the admin's. Readable by the service, not by others
  #    (OTLP headers may hold credentials).
  install -d -m 0750 -o root -g "$NAME" "$CONF_DIR"
  if [ ! -e "$CONF_DIR/sockpulse.yaml" ]; then
    install -m 0640 -o root -g "$NAME" "$stage/config/sockpulse.example.yaml" "$CONF_DIR/sockpulse.yaml"
    say "installed $CONF_DIR/sockpulse.yaml (defaults: edit it to enable sinks)"
  fi
  local envfile unit
  envfile="$(shipped systemd/sockpulse.env "$stage")"
  if [ ! -e "$CONF_DIR/sockpulse.env" ] && [ -n "$envfile" ]; then
    install -m 0640 -o root -g "$NAME" "$envfile" "$CONF_DIR/sockpulse.env"
  fi
  unit="$(shipped systemd/$UNIT "$stage")"
  [ -n "$unit" ] || fail "no systemd/$UNIT in the tarball nor in $CHECKOUT"

  # 4. Check the configuration the way the service reads it (as its user; exit 2 names the key).
  local out
  if ! out="$(setpriv --reuid="$NAME" --regid="$NAME" --init-groups --no-new-privs \
    "$stage/bin/sockpulse.js" -c "$CONF_DIR/sockpulse.yaml" --print-config 2>&1 >/dev/null)"; then
    fail "$CONF_DIR/sockpulse.yaml is not valid or not readable by $NAME: $out"
  fi

  # 5. Swap the release in, install the unit.
  if [ -d "$PREFIX" ]; then
    mv "$PREFIX" "$PREFIX.old.$$"
  fi
  mv "$stage" "$PREFIX"
  trap - EXIT
  rm -rf "$PREFIX.old.$$"
  install -D -m 0644 -o root -g root "$unit" "$UNIT_DIR/$UNIT"
  say "installed sockpulse $version in $PREFIX and $UNIT_DIR/$UNIT"

  # 6. Enable and (re)start — only under a running systemd.
  if systemd_running; then
    systemctl daemon-reload
    systemctl enable --quiet "$UNIT"
    systemctl restart "$UNIT"
    say "enabled and started $UNIT: journalctl -u sockpulse -f"
  else
    say "systemd is not running on this machine (no /run/systemd/system): the unit is installed but"
    say "not enabled. On a systemd host: systemctl daemon-reload && systemctl enable --now $UNIT"
  fi
}

[ "$(id -u)" = 0 ] || fail "run as root"
case "${1:-}" in
  --uninstall)
    purge=0
    [ "${2:-}" = --purge ] && purge=1
    uninstall "$purge"
    ;;
  -h | --help | "") usage ;;
  -*) fail "unknown option $1" ;;
  *) install_release "$1" ;;
esac
