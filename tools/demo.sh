#!/usr/bin/env bash
# The main job: xenlet on a simulated Xen host (the real xenstored and a fake
# hypervisor under the real libxenctrl), a boot storm of 1000 domains booted
# as libxl boots them, with a live summary and a sample of the event stream;
# then the domains are shut down and destroyed, every watch client's model
# is checked against the hypervisor, and it says where to point xenletctl,
# grpcurl and Prometheus. Run as root on a fresh Debian 12 machine: it
# installs what is missing (tools/setup.sh) and builds, optimised.
#
#   tools/demo.sh [--domains N] [--watchers N] [--keep] [--no-build]
#                 [--bin-dir DIR]
#
#   --domains N    domains to boot (default 1000; also $DOMAINS)
#   --watchers N   watch clients following the agent's stream, each checked
#                  against the hypervisor after every phase (default 2)
#   --keep         boot the domains and leave the host, the agent and the
#                  domains running to explore; prints how to stop them
#   --no-build     use binaries already built (with --bin-dir, or Bazel's
#                  optimised output); does not run tools/setup.sh either
#   --bin-dir DIR  where agent/xenlet, tools/xenletctl/xenletctl,
#                  sim/xensim and tools/bootstorm/bootstorm are (Bazel's
#                  bazel-bin layout)
#
# Every line it prints fits an 80-column terminal. On a terminal the summary
# is redrawn in place; in a log it is printed every 10 s. Ctrl-C stops
# everything it started (also with --keep, until the storm is done).
set -euo pipefail
domains=${DOMAINS:-1000}
watchers=2
keep=0
build=1
bin_dir=

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "demo: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --domains) [ $# -ge 2 ] || die "--domains needs a number"; domains=$2; shift 2 ;;
    --watchers) [ $# -ge 2 ] || die "--watchers needs a number"; watchers=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-build) build=0; shift ;;
    --bin-dir) [ $# -ge 2 ] || die "--bin-dir needs a directory"; bin_dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1' (see --help)" ;;
  esac
done
# Relative to where it was run from, before moving to the repository.
[ -z "$bin_dir" ] || bin_dir=$(realpath -- "$bin_dir")
cd "$(dirname "$0")/.."
[[ "$domains" =~ ^[0-9]+$ ]] && [ "$domains" -ge 1 ] && [ "$domains" -le 32000 ] ||
  die "--domains: '$domains' is not a count of 1..32000"
[[ "$watchers" =~ ^[0-9]+$ ]] && [ "$watchers" -ge 1 ] && [ "$watchers" -le 256 ] ||
  die "--watchers: '$watchers' is not a count of 1..256"

echo "xenlet demo: the agent on a simulated Xen host, $domains domains"
if [ "$build" = 1 ]; then
  echo "== setup: Debian packages (tools/setup.sh)"
  if ! tools/setup.sh 2>&1 | fold -s -w 76 | sed 's/^/   /'; then
    echo "demo: tools/setup.sh failed (run as root on Debian 12)" >&2
    exit 1
  fi
  echo "== build: Bazel, offline, optimised (a first build takes minutes)"
  # Bazel's progress, one short line at most every 30 s.
  if ! bazel build -c opt --color=no --curses=no \
    --show_progress_rate_limit=30 //agent:xenlet //tools/xenletctl \
    //sim:xensim //tools/bootstorm 2>&1 |
    awk '/^\[[0-9,]+ \/ [0-9,]+\]/ { print "   build " $1 " " $2 " " $3 " actions"; fflush() }
         /ERROR|error:/ { print "   " substr($0, 1, 77); fflush() }
         /Build completed/ { print "   build completed"; fflush() }'; then
    echo "demo: the build failed (above); bazel build -c opt shows it all" >&2
    exit 1
  fi
fi
if [ -z "$bin_dir" ]; then
  bin_dir=$(bazel info -c opt bazel-bin 2>/dev/null) ||
    die "no --bin-dir, and bazel cannot say where it built (drop --no-build?)"
fi
xenlet=$bin_dir/agent/xenlet
ctl=$bin_dir/tools/xenletctl/xenletctl
xensim=$bin_dir/sim/xensim
bootstorm=$bin_dir/tools/bootstorm/bootstorm
for b in "$xenlet" "$ctl" "$xensim" "$bootstorm"; do
  [ -x "$b" ] || { echo "demo: $b is not built (drop --no-build?)" >&2; exit 1; }
done

# A short directory: a unix socket path has at most 107 bytes.
dir=$(mktemp -d /tmp/xenlet-demo.XXXXXX)
agent_pid=
kept=0
stop_all() {
  if [ -n "$agent_pid" ]; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    # The agent is not this shell's child (setsid): wait for it by polling.
    for _ in $(seq 100); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$agent_pid" 2>/dev/null || true
  fi
  "$xensim" --dir "$dir" down >/dev/null 2>&1 || true
}
cleanup() {
  [ "$kept" = 1 ] && return
  stop_all
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; stopping everything it started"; exit 130' INT TERM

# The metrics port: 9464 unless something (another kept demo) serves there.
port=9464
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  port=$((port + 1))
  [ "$port" -lt 9484 ] || die "no free port in 9464..9483 for the metrics"
done

echo "== simulated host: the real xenstored, a fake hypervisor, in"
echo "   $dir"
"$xensim" --dir "$dir" up >/dev/null
sock=$dir/xenlet.sock
# In a session of its own, so that a later Ctrl-C in this terminal does not
# reach a kept agent; stop_all stops it.
sim_env=$("$xensim" --dir "$dir" env) || die "xensim env failed"
(
  eval "$sim_env"
  exec setsid "$xenlet" --socket "$sock" --metrics-address "127.0.0.1:$port" \
    --enable-control --log-level info
) >"$dir/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 200); do
  "$ctl" --socket "$sock" health >/dev/null 2>&1 && break
  kill -0 "$agent_pid" 2>/dev/null || { tail -n 5 "$dir/agent.log" | cut -c1-78; exit 1; }
  sleep 0.1
done
"$ctl" --socket "$sock" health >/dev/null 2>&1 ||
  { echo "demo: xenlet did not start serving; see $dir/agent.log" >&2; exit 1; }
echo "== xenlet serves on $sock"
echo "   metrics on http://127.0.0.1:$port/metrics"
echo "   log in $dir/agent.log"

teardown=()
if [ "$keep" = 1 ]; then
  teardown=(--no-teardown)
  echo "== boot storm: $domains domains booted as libxl boots them (kept)"
else
  echo "== boot storm: $domains domains booted as libxl boots them, then shut"
  echo "   down and destroyed"
fi
cat <<MSG
   $watchers watch clients follow xenlet's stream; above the summary, a sample
   of the first one's events (one a second). Latency: from the toolstack's
   action to the client's receipt. After each phase every client's model
   is compared with the hypervisor's domains.
MSG
status=0
"$bootstorm" --dir "$dir" --socket "$sock" --domains "$domains" \
  --watchers "$watchers" --agent-pid "$agent_pid" --no-pause-phase \
  --display live "${teardown[@]}" || status=$?

echo "== the agent's view now (xenletctl list):"
"$ctl" --socket "$sock" list --page-size 5 2>/dev/null | cut -c1-80 || true
if [ "$status" -ne 0 ]; then
  echo "== FAILED: a client did not converge (bootstorm exited $status)"
  echo "   the agent's last log lines:"
  tail -n 5 "$dir/agent.log" | cut -c1-74 | sed 's/^/     /'
  exit "$status"
fi
if [ "$keep" = 1 ]; then
  echo "== result: all $domains domains booted; every client matched the hypervisor"
else
  echo "== result: all $domains domains booted, shut down and destroyed;"
  echo "   every client matched the hypervisor after each phase"
fi

if [ "$keep" != 1 ]; then
  cat <<MSG
== to explore, run it with --keep (the host, the agent and the domains stay);
   then, among others:
     xenletctl --socket SOCKET list | watch | host | pause DOMID
     grpcurl -plaintext -unix SOCKET list
     curl http://127.0.0.1:$port/metrics   (or point Prometheus at it)
MSG
  exit 0
fi

# --keep: wrappers that carry the socket, and a script that stops it all.
cat >"$dir/xenletctl" <<SH
#!/bin/sh
exec "$ctl" --socket "$sock" "\$@"
SH
cat >"$dir/xensim" <<SH
#!/bin/sh
exec "$xensim" --dir "$dir" "\$@"
SH
cat >"$dir/stop" <<SH
#!/bin/sh
# Stops what tools/demo.sh --keep left running and removes $dir.
# The agent only if that pid is still it (its command line names the
# socket): a pid may be reused once it is gone.
if grep -qs "$sock" /proc/$agent_pid/cmdline; then
  kill -TERM $agent_pid
  i=0
  while kill -0 $agent_pid 2>/dev/null && [ \$i -lt 100 ]; do
    sleep 0.1; i=\$((i + 1))
  done
  kill -KILL $agent_pid 2>/dev/null
fi
"$xensim" --dir "$dir" down >/dev/null 2>&1
rm -rf "$dir"
echo "stopped: xenlet, the simulated host and its domains"
SH
chmod +x "$dir/xenletctl" "$dir/xensim" "$dir/stop"
kept=1
cat <<MSG
== kept running: the simulated host, xenlet (pid $agent_pid), $domains domains
   xenletctl   $dir/xenletctl list
               $dir/xenletctl watch
               $dir/xenletctl pause DOMID
               (wraps xenletctl --socket $sock)
   grpcurl     grpcurl -plaintext -unix $sock list
   Prometheus  http://127.0.0.1:$port/metrics
   toolstack   $dir/xensim create --count 10
               $dir/xensim destroy DOMID
   stop it all $dir/stop
MSG
