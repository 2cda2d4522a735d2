#!/usr/bin/env bash
# nftables and the nf_conntrack module, for the conntrack collector's tests (an nftables
# `ct state` rule in a test namespace makes conntrack track its connections). Idempotent; a no-op
# when `nft` is on PATH and /proc/net/stat/nf_conntrack exists. Called by prepare.sh (as root).
set -euo pipefail

if ! command -v nft >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps-conntrack.sh: ERROR: nft is missing and only root can install it (apt-get install nftables)" >&2
    exit 1
  fi
  echo "deps-conntrack.sh: nft missing — installing Debian's nftables package" >&2
  # shellcheck source=test/setup/apt.sh
  . "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
  apt_install --no-install-recommends nftables
fi

# The module is loaded on demand by the first rule that needs it; load it now when it can be, so
# a missing module is said here rather than as a failing test.
if [ ! -e /proc/net/stat/nf_conntrack ] && command -v modprobe >/dev/null 2>&1; then
  modprobe nf_conntrack 2>/dev/null || true
fi
if [ ! -e /proc/net/stat/nf_conntrack ]; then
  echo "deps-conntrack.sh: WARNING: /proc/net/stat/nf_conntrack is missing (nf_conntrack not loaded, or no procfs support);" \
    "the conntrack test loads it through an nftables rule and fails if that does not work" >&2
fi
echo "deps-conntrack.sh: $(nft --version 2>&1 | head -n1)" >&2
