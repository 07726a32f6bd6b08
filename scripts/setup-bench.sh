#!/usr/bin/env bash
# What the benchmarks need besides scripts/setup.sh (which installs nginx, their baseline HTTP server, and
# the rest): wrk, the load generator, from apt.
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

if ! command -v wrk >/dev/null; then
  say "installing from apt: wrk"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y --no-install-recommends wrk; then
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends wrk
  fi
fi
say "ready"
