# Sourced by the test setup scripts: install Debian packages without starting their services.
#   apt_install [apt-get install options…] PACKAGE…
# Serialised through /tmp/sockpulse-apt.lock (several setup scripts may install at once); the
# package lists are refreshed only when a package is unknown or the install fails. While it
# runs, a policy-rc.d forbids service starts (docker.io and prometheus would start daemons;
# the tests run their own) unless the machine already has a policy.
apt_install() {
  (
    flock 9
    local policy=/usr/sbin/policy-rc.d made=0 pkg
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made=1
    fi
    trap '[ "$made" = 1 ] && rm -f "$policy"' EXIT
    export DEBIAN_FRONTEND=noninteractive
    local known=1
    for pkg in "$@"; do
      case "$pkg" in -*) ;; *) apt-cache show "$pkg" >/dev/null 2>&1 || known=0 ;; esac
    done
    if [ "$known" = 0 ] || ! apt-get install -y -q -o DPkg::Lock::Timeout=300 "$@"; then
      apt-get update -q -o DPkg::Lock::Timeout=300
      apt-get install -y -q -o DPkg::Lock::Timeout=300 "$@"
    fi
  ) 9>/tmp/sockpulse-apt.lock
}
