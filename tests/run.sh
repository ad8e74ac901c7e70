#!/usr/bin/env bash
# Run the whole test suite against the real lab servers.
#   bash tests/run.sh [pytest args…]
#   bash tests/run.sh --record-example     re-record ocscheck/example/ from the lab (same set-up, no pytest)
# As root: installs the lab's missing Debian packages (tests/lab/packages.txt), creates a
# private network namespace (only `lo` inside, so nothing can leave the machine) and runs
# pytest in it. Not root: runs pytest directly; tests needing root fail under CI=true, skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3}

# apt-get, waiting for the locks another apt run holds (apt-daily, unattended-upgrades, cloud-init on a
# fresh machine) instead of failing with exit 100. DPkg::Lock::Timeout makes apt itself wait for the dpkg
# frontend lock; apt 2.6 does not apply it to other locks (`apt-get update` fails at once on
# /var/lib/apt/lists/lock), so a "Could not get lock" failure is also retried until the same deadline.
apt_lock_timeout=${OCSCHECK_APT_LOCK_TIMEOUT:-600}
apt_get() {
  local deadline=$((SECONDS + apt_lock_timeout)) log rc
  log=$(mktemp)
  while :; do
    rc=0
    LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$apt_lock_timeout" "$@" 2>&1 \
      | tee "$log" >&2 || rc=${PIPESTATUS[0]}
    if [ "$rc" = 0 ] || [ "$SECONDS" -ge "$deadline" ] || ! grep -q "Could not get lock" "$log"; then
      rm -f "$log"
      return "$rc"
    fi
    echo "tests/run.sh: apt-get $1: another apt run holds a lock; retrying for up to $((deadline - SECONDS)) s" >&2
    sleep 5
  done
}

if [ "$(id -u)" = 0 ]; then
  missing=()
  while read -r pkg; do
    case "$pkg" in ''|'#'*) continue ;; esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < tests/lab/packages.txt
  if [ ${#missing[@]} -gt 0 ]; then
    echo "tests/run.sh: installing lab packages: ${missing[*]}" >&2
    apt_get update -q
    apt_get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

# A virtual environment keeps the suite off the system Python (PEP 668 on Debian).
venv=${OCSCHECK_VENV:-$root/.venv}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]" >&2

if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
  source tests/lab/netns.sh
  lab_netns_up
else
  run_in_lab() { "$@"; }
fi
if [ "${1:-}" = "--record-example" ]; then
  run_in_lab "$venv/bin/python" -m tests.lab.record_example
else
  run_in_lab "$venv/bin/python" -m pytest "$@"
fi
