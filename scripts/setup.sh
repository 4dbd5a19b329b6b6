#!/usr/bin/env bash
# One-time machine set-up for TokenMDP: the Debian packages the Swift package
# links (OpenBLAS + LAPACKE, found through pkg-config). Safe to re-run: it
# only calls apt-get when something is missing.
set -euo pipefail
need=()
for pkg in libopenblas-dev liblapacke-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
