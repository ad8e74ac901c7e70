#!/usr/bin/env bash
# Run a bench inside a private network namespace with only `lo` (as root), like tests/run.sh runs the suite:
#   bash bench/netns.sh .venv/bin/python bench/bench_dead_hosts.py --timeout 3
set -euo pipefail
cd "$(dirname "$0")/.."
ns="ocsbench-$$"
mkdir -p "/etc/netns/$ns"
printf 'nameserver 127.0.0.53\noptions timeout:1 attempts:1\n' > "/etc/netns/$ns/resolv.conf"
cat > "/etc/netns/$ns/hosts" <<HOSTS
127.0.0.1 localhost
127.0.0.2 ocsdc1.todorovic.adds ocsdc1
127.0.0.3 ocsdc2.todorovic.adds ocsdc2
127.0.0.20 ocs.todorovic.adds ocs
127.0.0.40 pki.todorovic.adds pki
HOSTS
cleanup() { ip netns delete "$ns" 2>/dev/null || true; rm -rf "/etc/netns/$ns"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" "$@"
