#!/usr/bin/env bash
# Runs xenlet on a simulated Xen host, for developing against a realistic
# host without Xen: starts the host (the real xenstored under the fake
# hypervisor) in a directory, runs the agent on it in the foreground, and
# stops the host when the agent exits (Ctrl-C).
#
#   tools/xenlet-sim.sh [--dir DIR] [-- XENLET_FLAGS...]
#
# Then, from another shell:
#   xensim --dir DIR create --count 10      # boot domains (see xensim --help)
#   xenletctl --socket DIR/xenlet.sock watch
set -euo pipefail
cd "$(dirname "$0")/.."
dir=/tmp/xenlet-sim
if [ "${1:-}" = "--dir" ]; then dir=$2; shift 2; fi
if [ "${1:-}" = "--" ]; then shift; fi
case "${1:-}" in
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

tools/setup.sh
bazel build //agent:xenlet //sim:xensim //tools/xenletctl 2>&1 |
  grep -E "ERROR|error:" || true
bin=$(bazel info bazel-bin 2>/dev/null)
xensim=$bin/sim/xensim

mkdir -p "$dir"
"$xensim" --dir "$dir" up >/dev/null
trap '"$xensim" --dir "$dir" down >/dev/null 2>&1 || true' EXIT
cat <<MSG
simulated host in $dir; xenlet serves on $dir/xenlet.sock
  boot domains:   $xensim --dir $dir create --count 10
  watch events:   $bin/tools/xenletctl/xenletctl --socket $dir/xenlet.sock watch
  stop:           Ctrl-C
MSG
eval "$("$xensim" --dir "$dir" env)"
# Not exec: the trap must stop the host once the agent has exited.
"$bin/agent/xenlet" --socket "$dir/xenlet.sock" "$@" || true
