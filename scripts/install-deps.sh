#!/usr/bin/env bash
# Installs what cotforge needs on a Debian/Ubuntu machine, only when it is missing.
#   scripts/install-deps.sh            system libraries (libzstd, libarchive, OpenBLAS, libcrypto)
#   scripts/install-deps.sh --python   also the Python readers used by the interop tests
#   scripts/install-deps.sh --browser  Chromium, for scripts/render_report.py and the report rendering test
set -euo pipefail

need_apt=()
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
for pair in libzstd:libzstd-dev libarchive:libarchive-dev openblas:libopenblas-dev libcrypto:libssl-dev; do
  pc=${pair%%:*}; pkg=${pair##*:}
  if ! pkg-config --exists "$pc" 2>/dev/null; then need_apt+=("$pkg"); fi
done
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: installing ${need_apt[*]}" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=sudo; else
      echo "install-deps: need root to run: apt-get install -y ${need_apt[*]}" >&2; exit 1
    fi
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "${1:-}" = "--python" ]; then
  if ! python3 -c "import datasets, zstandard, jsonschema, pytest, webdataset, reasoning_gym, yaml" 2>/dev/null; then
    echo "install-deps: installing Python packages datasets zstandard jsonschema pytest webdataset reasoning-gym pyyaml" >&2
    python3 -m pip install -q --disable-pip-version-check datasets zstandard jsonschema pytest webdataset reasoning-gym pyyaml
  fi
fi

