#!/usr/bin/env bash
# The operator's tools against the real agent on a simulated host: xenletctl
# list (and list --watch), get, watch and its errors; the watch survives an
# agent restart, says it had to resync, and goes on with live events.
# Conditions are awaited with bounded polls (an agent process has no other
# way to say it is ready).
set -uo pipefail
r=$TEST_SRCDIR/$TEST_WORKSPACE
xenlet=$r/agent/xenlet ctl=$r/tools/xenletctl/xenletctl xensim=$r/sim/xensim
dir=$(mktemp -d /tmp/xle.XXXXXX)
agent= watch=
cleanup() {
  [ -n "$watch" ] && kill "$watch" 2>/dev/null
  [ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
  "$xensim" --dir "$dir" down >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do echo "== $f"; cat "$f"; done; exit 1; }
# until SECONDS COMMAND...: true once COMMAND succeeds, false after SECONDS.
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}
start_agent() {
  (eval "$("$xensim" --dir "$dir" env)"
   exec "$xenlet" --socket "$dir/x.sock" --metrics-address 127.0.0.1:0 \
     --sweep-interval 0.2) >>"$dir/agent.log" 2>&1 &
  agent=$!
  until_ok 20 "$ctl" --socket "$dir/x.sock" health || fail "agent not serving"
}
ctl() { "$ctl" --socket "$dir/x.sock" "$@"; }

"$xensim" --dir "$dir" up >/dev/null || fail "xensim up"
"$xensim" --dir "$dir" create --count 3 >/dev/null || fail "create"
start_agent

# list and get, in the model at once (the agent swept before serving).
out=$(ctl list) || fail "list: $out"
[ "$(grep -c ' running ' <<<"$out")" -eq 4 ] || fail "list: $out"
grep -q "sim-2" <<<"$out" || fail "no sim-2 in list: $out"
ctl get 1 name:sim-3 99 >"$dir/get.out" 2>&1
[ $? -eq 3 ] || fail "get with a missing selector must exit 3"
grep -q "NOT_FOUND" "$dir/get.out" || fail "get: $(cat "$dir/get.out")"
grep -q "sim-3" "$dir/get.out" || fail "get: $(cat "$dir/get.out")"
json=$(ctl --json list) || fail "list --json"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert len(d["domains"])==4' "$json" ||
  fail "list --json: $json"

# list --watch: the synced state as a table after a '# <time>' line (not a
# terminal), then --count ends it.
out=$(ctl list --watch --count 1 --interval 0) || fail "list --watch: $out"
[ "$(head -1 <<<"$out" | cut -c1-2)" = "# " ] || fail "list --watch header: $out"
[ "$(grep -c ' running ' <<<"$out")" -eq 4 ] || fail "list --watch: $out"

# Errors say what to do next.
"$ctl" --socket "$dir/none.sock" list >/dev/null 2>"$dir/err.out"
[ $? -eq 1 ] || fail "an absent socket must exit 1"
grep -q "cannot reach xenlet at unix:$dir/none.sock" "$dir/err.out" &&
  grep -q "Is the agent running" "$dir/err.out" ||
  fail "absent socket: $(cat "$dir/err.out")"
ctl pause 1 >/dev/null 2>"$dir/err.out"
[ $? -eq 1 ] || fail "pause without --enable-control must exit 1"
grep -q "need an agent started with --enable-control" "$dir/err.out" ||
  fail "pause: $(cat "$dir/err.out")"

# watch: initial state, then an agent restart in the middle.
ctl watch --backoff-max 0.5 >"$dir/watch.log" 2>"$dir/watch.err" &
watch=$!
until_ok 20 grep -q SYNCED "$dir/watch.log" || fail "no SYNCED"
kill -TERM "$agent"; wait "$agent"; agent=
start_agent
# It reconnects, is told to resync (the agent is a new instance), gets the
# current state inline and a second SYNCED ...
synced_twice() { [ "$(grep -c SYNCED "$dir/watch.log")" -ge 2 ]; }
until_ok 30 synced_twice || fail "the watch did not resync with the new agent"
grep -q "RESYNC_REQUIRED.*instance_changed" "$dir/watch.log" ||
  fail "the watch did not say why it had to resync"
# ... then follows live events from the new agent.
"$xensim" --dir "$dir" create --count 1 >/dev/null || fail "create after restart"
until_ok 30 grep -q "ADDED created domid=4" "$dir/watch.log" ||
  fail "no live event after the resync"
echo PASS
