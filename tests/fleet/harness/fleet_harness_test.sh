#!/usr/bin/env bash
# Runs the fleet harness (fleet_harness_test.cc) as root, one run at a time
# (a lock), in a directory of its own. Whatever happens to it (a failure, a
# crash, Bazel's timeout), every namespace and link it may have made is
# removed and the simulated hosts' daemons are stopped: its own children
# die with it (PR_SET_PDEATHSIG), the rest is this script's trap.
set -uo pipefail
r=$TEST_SRCDIR/$TEST_WORKSPACE
net=$r/tests/fleet/harness/fleet_net.sh
xensim=$r/sim/xensim
if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1; then
  echo "SKIPPED: the fleet harness needs root and ip netns (iproute2)"
  exit 0
fi
exec 9>/run/lock/xenlet-fleet-harness.lock
flock -w 900 9 || { echo "FAIL: another fleet harness held the lock for 15 minutes"; exit 1; }
dir=$(mktemp -d /tmp/xlf.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  for host in "$dir"/h*; do
    [ -d "$host" ] && "$xensim" --dir "$host" down >/dev/null 2>&1
  done
  "$net" down
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# In the background, so that a signal reaches the trap at once.
FLEET_DIR=$dir "$r/tests/fleet/harness/fleet_harness" "$@" &
pid=$!
wait "$pid"
rc=$?
pid=
# The harness removed its network itself: no namespace, no link is left
# (the trap would, but a run that needs it is a defect).
left=$( (ip netns list; ip -o link show) | grep -c 'xlf-' || true)
if [ "$left" -ne 0 ]; then
  echo "FAIL: namespaces or links left behind:"
  (ip netns list; ip -o link show) | grep 'xlf-'
  exit 1
fi
exit "$rc"
