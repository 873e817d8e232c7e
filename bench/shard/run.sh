#!/usr/bin/env bash
# Runs bench/shard/bench.py against the release build (make bench builds it first).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 bench/shard/bench.py "$@"
