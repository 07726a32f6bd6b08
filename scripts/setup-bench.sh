#!/usr/bin/env bash
# What the benchmarks need besides scripts/setup.sh: nginx (the baseline HTTP server) and wrk (the load
# generator), from apt. nginx is only ever started by the benchmarks themselves, with a configuration of
# their own on a loopback port; the service the package installs is stopped and disabled.
# Usage: scripts/setup-bench.sh   (idempotent; runs scripts/setup.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "$@"

say() { printf 'setup-bench: %s\n' "$*" >&2; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else say "need root or sudo to run: $*"; exit 1
  fi
}

missing=()
command -v wrk >/dev/null || missing+=(wrk)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing from apt: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No service starts on install: the benchmarks run nginx themselves, on loopback only.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    created_policy=1
  fi
  if ! as_root apt-get install -y --no-install-recommends "${missing[@]}"; then
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  [ "$created_policy" -eq 1 ] && as_root rm -f "$policy"
fi
say "ready"
