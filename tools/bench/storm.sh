#!/usr/bin/env bash
# Boot storms on a fresh simulated host each: the agent and W watch clients
# (or, with W=0, no agent at all: the toolstack's own rate and xenstored's
# CPU, the baseline of the same run), N domains booted, paused and
# unpaused, shut down and destroyed. Prints bootstorm's summary (rates, CPU,
# end-to-end latency per transition) and the agent's peak RSS.
#
#   tools/bench/storm.sh N W [W ...]      e.g. tools/bench/storm.sh 1000 0 1 10 100
#
# Binaries from `bazel build -c opt //agent:xenlet //sim:xensim
# //tools/bootstorm //tools/xenletctl` (built here if missing). Latency CSVs
# go to $STORM_OUT (default /tmp/xenlet-storm), one per run.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { sed -n '2,12p' "$0"; exit 2; }
domains=$1
shift
out=${STORM_OUT:-/tmp/xenlet-storm}
mkdir -p "$out"
bazel build -c opt //agent:xenlet //sim:xensim //tools/bootstorm \
  //tools/xenletctl 2>&1 | grep -E "ERROR|error:" || true
bin=$(bazel info -c opt bazel-bin 2>/dev/null)

for watchers in "$@"; do
  dir=$(mktemp -d /tmp/xenlet-storm.XXXXXX)
  agent_pid=
  stop() {
    if [ -n "$agent_pid" ]; then
      kill -TERM "$agent_pid" 2>/dev/null || true
      wait "$agent_pid" 2>/dev/null || true
    fi
    "$bin/sim/xensim" --dir "$dir" down >/dev/null 2>&1 || true
    rm -rf "$dir"
  }
  trap stop EXIT
  "$bin/sim/xensim" --dir "$dir" up >/dev/null
  args=(--dir "$dir" --domains "$domains" --watchers "$watchers"
        --latency-csv "$out/latency-$domains-$watchers.csv")
  if [ "$watchers" -gt 0 ]; then
    (
      eval "$("$bin/sim/xensim" --dir "$dir" env)"
      exec "$bin/agent/xenlet" --socket "$dir/xenlet.sock" \
        --metrics-address "" --log-level warning
    ) >"$dir/agent.log" 2>&1 &
    agent_pid=$!
    for _ in $(seq 200); do
      "$bin/tools/xenletctl/xenletctl" --socket "$dir/xenlet.sock" health \
        >/dev/null 2>&1 && break
      sleep 0.05  # polling the agent's readiness, not synchronisation
    done
    args+=(--socket "$dir/xenlet.sock" --agent-pid "$agent_pid")
  fi
  echo "== storm: $domains domains, $watchers watch client(s)$([ "$watchers" -eq 0 ] && echo ', no agent')"
  "$bin/tools/bootstorm/bootstorm" "${args[@]}" | grep -v "^  [a-z ]* [0-9]*/[0-9]* (" || true
  if [ -n "$agent_pid" ]; then
    echo "  agent peak RSS: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$agent_pid/status)"
  fi
  stop
  trap - EXIT
done
