#!/usr/bin/env bash
# The main job: xenlet on a simulated Xen host (the real xenstored and a fake
# hypervisor under the real libxenctrl), a boot storm of DOMAINS domains
# (default 300) and the live event stream as `xenletctl watch` prints it;
# then the domains are shut down and destroyed, and every watch client's
# model is checked against the hypervisor. Run as root on a fresh Debian 12
# machine (tools/setup.sh installs what is missing). Everything it starts is
# stopped at the end, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
DOMAINS=${DOMAINS:-300}

tools/setup.sh
echo "== building (Bazel, offline, from Debian's packages)"
bazel build //agent:xenlet //tools/xenletctl //sim:xensim \
  //tools/bootstorm 2>&1 | grep -E "ERROR|error:|Build completed" || true
bin=$(bazel info bazel-bin 2>/dev/null)
xenlet=$bin/agent/xenlet
ctl=$bin/tools/xenletctl/xenletctl
xensim=$bin/sim/xensim
bootstorm=$bin/tools/bootstorm/bootstorm
for b in "$xenlet" "$ctl" "$xensim" "$bootstorm"; do
  [ -x "$b" ] || { echo "demo: $b was not built" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/xenlet-demo.XXXXXX)
agent_pid= watch_pid=
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
  if [ -n "$agent_pid" ]; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  "$xensim" --dir "$dir" down >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== simulated host in $dir"
"$xensim" --dir "$dir" up >/dev/null
sock=$dir/xenlet.sock
(
  eval "$("$xensim" --dir "$dir" env)"
  exec "$xenlet" --socket "$sock" --log-level info
) >"$dir/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 100); do
  "$ctl" --socket "$sock" health >/dev/null 2>&1 && break
  kill -0 "$agent_pid" 2>/dev/null || { cat "$dir/agent.log"; exit 1; }
  sleep 0.1
done
echo "== xenlet is serving on $sock:"
sed 's/^/   agent | /' "$dir/agent.log"
"$ctl" --socket "$sock" list

echo "== live event stream (xenletctl watch) while $DOMAINS domains boot"
# $! must be xenletctl itself (not a pipeline's last command) so that it,
# not just its output filter, is stopped at the end.
"$ctl" --socket "$sock" watch --no-initial-state \
  > >(sed -u 's/^/   watch | /') 2>&1 &
watch_pid=$!

"$bootstorm" --dir "$dir" --socket "$sock" --domains "$DOMAINS" \
  --watchers 2 --agent-pid "$agent_pid" 2>&1 | sed -u 's/^/   storm | /'
status=${PIPESTATUS[0]}

kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
watch_pid=
echo "== after the storm:"
"$ctl" --socket "$sock" list
echo "== agent log:"
tail -n 5 "$dir/agent.log" | sed 's/^/   agent | /'
exit "$status"
