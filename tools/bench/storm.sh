#!/usr/bin/env bash
# Boot storms on a fresh simulated host each: the agent and W watch clients
# (or, with W=0, no agent at all: the toolstack's own rate and xenstored's
# CPU, the baseline of the same run), N domains booted, paused and
# unpaused, shut down and destroyed. Prints bootstorm's summary (rates, CPU,
# end-to-end latency per transition) and the agent's peak RSS.
#
#   tools/bench/storm.sh N W [W ...]      e.g. tools/bench/storm.sh 1000 0 1 10 100
#
# STORM_KEYS=few gives each domain its name and domid only (bootstorm
# --keys), STORM_STALLED=S makes S of the W watchers never read their
# stream, STORM_ARGS adds bootstorm flags (e.g. --no-pause-phase).
#
# Binaries from `bazel build -c opt //agent:xenlet //sim:xensim
# //tools/bootstorm //tools/xenletctl` (built here if missing). Latency CSVs
# go to $STORM_OUT (default /tmp/xenlet-storm), one per run, and so does a
# sample of the agent every second (resources-N-W.csv: seconds, domains in
# its last sweep, RSS MiB, events queued in its most backed-up stream, the
# event log's estimated MiB and its events).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { sed -n '2,20p' "$0"; exit 2; }
domains=$1
shift
out=${STORM_OUT:-/tmp/xenlet-storm}
keys=${STORM_KEYS:-libxl}
stalled=${STORM_STALLED:-0}
read -r -a extra <<<"${STORM_ARGS:-}"
read -r -a agent_extra <<<"${STORM_AGENT_ARGS:-}"
mkdir -p "$out"
bazel build -c opt //agent:xenlet //sim:xensim //tools/bootstorm \
  //tools/xenletctl 2>&1 | grep -E "ERROR|error:" || true
bin=$(bazel info -c opt bazel-bin 2>/dev/null)

for watchers in "$@"; do
  dir=$(mktemp -d /tmp/xenlet-storm.XXXXXX)
  agent_pid=
  sampler_pid=
  stop() {
    if [ -n "$sampler_pid" ]; then
      kill "$sampler_pid" 2>/dev/null || true
      wait "$sampler_pid" 2>/dev/null || true
    fi
    if [ -n "$agent_pid" ]; then
      kill -TERM "$agent_pid" 2>/dev/null || true
      wait "$agent_pid" 2>/dev/null || true
    fi
    "$bin/sim/xensim" --dir "$dir" down >/dev/null 2>&1 || true
    rm -rf "$dir"
  }
  trap stop EXIT
  "$bin/sim/xensim" --dir "$dir" up >/dev/null
  tag=$domains-$watchers$([ "$stalled" -eq 0 ] || echo "-s$stalled")
  args=(--dir "$dir" --domains "$domains" --watchers "$watchers"
        --keys "$keys" --latency-csv "$out/latency-$tag.csv" "${extra[@]}")
  [ "$watchers" -gt 0 ] && args+=(--stalled "$stalled")
  # A free loopback port for the agent's metrics.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if [ "$watchers" -gt 0 ]; then
    (
      eval "$("$bin/sim/xensim" --dir "$dir" env)"
      exec "$bin/agent/xenlet" --socket "$dir/xenlet.sock" \
        --metrics-address "127.0.0.1:$port" --log-level warning \
        "${agent_extra[@]}"
    ) >"$dir/agent.log" 2>&1 &
    agent_pid=$!
    for _ in $(seq 200); do
      "$bin/tools/xenletctl/xenletctl" --socket "$dir/xenlet.sock" health \
        >/dev/null 2>&1 && break
      sleep 0.05  # polling the agent's readiness, not synchronisation
    done
    args+=(--socket "$dir/xenlet.sock" --agent-pid "$agent_pid")
    # The agent's size and its most backed-up stream, once a second.
    (
      start=$(date +%s.%N)
      echo "seconds,domains,rss_mib,queue_max_events,event_log_mib,event_log_events"
      while kill -0 "$agent_pid" 2>/dev/null; do
        m=$(curl -s --max-time 2 "http://127.0.0.1:$port/metrics" || true)
        awk -v t="$(date +%s.%N)" -v t0="$start" -v m="$m" '
          /VmRSS/ { rss = $2 / 1024 }
          END {
            n = split(m, lines, "\n"); d = ""; q = ""; l = ""; e = ""
            for (i = 1; i <= n; i++) {
              split(lines[i], f, " ")
              if (f[1] == "xenlet_sweep_domains") d = f[2]
              if (f[1] == "xenlet_watch_queue_max_events") q = f[2]
              if (f[1] == "xenlet_event_log_bytes") l = sprintf("%.1f", f[2] / 1048576)
              if (f[1] == "xenlet_event_log_events") e = f[2]
            }
            printf "%.1f,%s,%.1f,%s,%s,%s\n", t - t0, d, rss, q, l, e
          }' "/proc/$agent_pid/status" 2>/dev/null || true
        sleep 1  # a sampling period, not synchronisation
      done
    ) >"$out/resources-$tag.csv" &
    sampler_pid=$!
  fi
  echo "== storm: $domains domains ($keys keys), $watchers watch client(s)$([ "$watchers" -eq 0 ] && echo ', no agent')$([ "$watchers" -gt 0 ] && [ "$stalled" -gt 0 ] && echo ", $stalled stalled")"
  "$bin/tools/bootstorm/bootstorm" "${args[@]}" >"$dir/storm.out" || true
  grep -v "^  [a-z ]* [0-9]*/[0-9]* (" "$dir/storm.out" || true
  peak=
  if [ -n "$agent_pid" ]; then
    peak=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$agent_pid/status)
    echo "  agent peak RSS: $peak MiB"
    echo "  most events queued in one stream (sampled): $(awk -F, 'NR > 1 && $4 > m { m = $4 } END { print m + 0 }' "$out/resources-$tag.csv")"
  fi
  # One line per run for plot_boot_rate.sh: the boot phase's figures.
  [ -f "$out/summary.csv" ] || echo "domains,watchers,stalled,keys,boot_s,domains_per_s,agent_cpu_s,xenstored_cpu_s,peak_rss_mib" >"$out/summary.csv"
  awk -v d="$domains" -v w="$watchers" -v s="$stalled" -v k="$keys" -v p="$peak" '
    # "  boot:     N domains in T s (R domains/s)", then its CPU line.
    function emit() { printf "%s,%s,%s,%s,%s,%s,%s,%s,%s\n", d, w, s, k, t, r, a, x, p; pending = 0 }
    pending && /^ +CPU: / {
      if (match($0, /xenlet [0-9.]+ s/)) a = substr($0, RSTART + 7, RLENGTH - 9)
      if (match($0, /xenstored [0-9.]+ s/)) x = substr($0, RSTART + 10, RLENGTH - 12)
      emit(); next
    }
    pending { emit() }
    /^  boot: / {
      a = ""; x = ""; pending = 1
      match($0, /in [0-9.]+ s/); t = substr($0, RSTART + 3, RLENGTH - 5)
      match($0, /\([0-9.]+ domains\/s/); r = substr($0, RSTART + 1, RLENGTH - 11)
    }
    END { if (pending) emit() }' "$dir/storm.out" >>"$out/summary.csv"
  stop
  trap - EXIT
done
