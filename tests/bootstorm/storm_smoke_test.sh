#!/usr/bin/env bash
# A small boot storm end to end, as tools/bench/storm.sh runs the large
# ones: the agent on a simulated host, bootstorm booting, pausing and
# unpausing, shutting down and destroying 20 domains with 3 watch clients.
# Asserts correctness only (every client converged, nothing duplicated,
# every lifecycle transition measured from its toolstack step); the
# figures are BENCHMARKS.md's. The agent's readiness is awaited with a
# bounded poll (a process has no other way to say it serves).
set -uo pipefail
r=$TEST_SRCDIR/$TEST_WORKSPACE
xenlet=$r/agent/xenlet ctl=$r/tools/xenletctl/xenletctl xensim=$r/sim/xensim
bootstorm=$r/tools/bootstorm/bootstorm
dir=$(mktemp -d /tmp/xls.XXXXXX)
agent=
cleanup() {
  [ -n "$agent" ] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
  "$xensim" --dir "$dir" down >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$dir/agent.log" "$dir/storm.out" 2>/dev/null; exit 1; }

"$xensim" --dir "$dir" up >/dev/null || fail "xensim up"
(eval "$("$xensim" --dir "$dir" env)"
 exec "$xenlet" --socket "$dir/x.sock" --metrics-address "") \
  >"$dir/agent.log" 2>&1 &
agent=$!
deadline=$((SECONDS + 20))
until "$ctl" --socket "$dir/x.sock" health >/dev/null 2>&1; do
  [ $SECONDS -ge $deadline ] && fail "agent not serving"
  sleep 0.05
done

"$bootstorm" --dir "$dir" --socket "$dir/x.sock" --domains 20 --watchers 3 \
  --agent-pid "$agent" --latency-csv "$dir/latency.csv" >"$dir/storm.out" 2>&1 ||
  fail "bootstorm exited $?"
grep -q "result:   every client converged" "$dir/storm.out" || fail "not converged"
grep -q "0 duplicated" "$dir/storm.out" || fail "duplicates"
# 20 domains x 3 clients x each of the six measured transitions.
for t in CREATED STARTED PAUSED UNPAUSED SHUTDOWN DESTROYED; do
  n=$(grep -c "^$t," "$dir/latency.csv")
  [ "$n" -eq 60 ] || fail "$t: $n measured events, expected 60"
  grep -Eq "^  $t +60 \|" "$dir/storm.out" || fail "$t missing from the table"
done
# No latency is negative: every event came after its step.
awk -F, 'NR > 1 && ($2 < 0 || $3 < 0 || $4 < 0) { bad = 1 } END { exit bad }' \
  "$dir/latency.csv" || fail "a negative latency"

# The whole domid space's shape, small: domains with few keys (no
# introduce), and one of the three watchers stalled (it never reads). The
# two others converge as before; the stalled one is cancelled at the end.
"$bootstorm" --dir "$dir" --socket "$dir/x.sock" --domains 20 --watchers 3 \
  --stalled 1 --keys few --agent-pid "$agent" --latency-csv "$dir/few.csv" \
  >"$dir/storm.out" 2>&1 || fail "bootstorm --keys few --stalled 1 exited $?"
grep -q "result:   every client converged" "$dir/storm.out" || fail "few keys: not converged"
grep -q "1 of them stalled" "$dir/storm.out" || fail "no stalled watcher"
grep -q "agent RSS" "$dir/storm.out" || fail "no RSS in the progress lines"
for t in CREATED DESTROYED; do
  n=$(grep -c "^$t," "$dir/few.csv")
  [ "$n" -eq 40 ] || fail "few keys: $t: $n measured events, expected 40"
done
# Load, small: 12 watchers and 4 clients listing every domain as fast as
# they can through the whole storm. Every watcher converges and every
# query succeeds (the figures at 1000 domains, 200 watchers and 50 query
# clients are BENCHMARKS.md's).
"$bootstorm" --dir "$dir" --socket "$dir/x.sock" --domains 20 --watchers 12 \
  --query-clients 4 --no-pause-phase --agent-pid "$agent" \
  >"$dir/storm.out" 2>&1 || fail "bootstorm --query-clients 4 exited $?"
grep -q "result:   every client converged" "$dir/storm.out" || fail "load: not converged"
grep -Eq "queries: +[1-9][0-9]* full listings by 4 clients" "$dir/storm.out" ||
  fail "load: no query"
grep -Eq "^ +p50 .* 0 failed$" "$dir/storm.out" || fail "load: a query failed"
echo PASS
