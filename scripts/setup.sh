#!/usr/bin/env bash
# Prepares a Debian 12 machine to run and test camrelay. Idempotent, and quick when all is present:
#   - apt packages: ffmpeg, redis-server, GStreamer's RTSP server for demo/test cameras, Chromium for the
#     browser tests, docker-compose (only to validate docker-compose.yml; no engine needed), nginx-light (the
#     latency benchmark's baseline server, which the test suite runs in smoke mode; no service is started)
#   - npm dependencies (npm ci, only when package-lock.json changed) and the TypeScript build
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  ffmpeg
  redis-server
  python3-gi
  gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly
  gstreamer1.0-plugins-bad
  gstreamer1.0-x
  fonts-dejavu-core
  docker-compose
  openssl
  chromium
  nginx-light
)

say() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else say "need root or sudo to run: $*"; exit 1
  fi
}

missing_packages() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$pkg"
  done
}

install_apt_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing from apt: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # No service starts on install: camrelay starts its own Redis, and the benchmarks their own nginx on loopback.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    created_policy=1
  fi
  if ! as_root apt-get install -y --no-install-recommends "${missing[@]}"; then
    as_root apt-get update
    as_root apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  if [ "$created_policy" -eq 1 ]; then as_root rm -f "$policy"; fi
}

check_node() {
  command -v node >/dev/null || { say "Node.js 20.19 or later is required (not found)"; exit 1; }
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || { say "Node.js 20.19 or later is required (found $(node -v))"; exit 1; }
}

install_npm_packages() {
  local stamp=node_modules/.camrelay-lock-hash hash
  hash=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then return 0; fi
  say "installing npm dependencies"
  npm ci --no-audit --no-fund
  echo "$hash" > "$stamp"
}

install_apt_packages
check_node
install_npm_packages
if [ "${1:-}" != "--no-build" ]; then
  npm run --silent build
fi
say "ready"
