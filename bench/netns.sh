#!/usr/bin/env bash
# Run a bench inside a private network namespace with only `lo` (as root), like tests/run.sh runs the suite:
#   bash bench/netns.sh .venv/bin/python bench/bench_dead_hosts.py --timeout 3
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/lab/netns.sh
lab_netns_up
run_in_lab "$@"
