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
# --keep and --steps-csv (what the fleet harness uses): 8 booted, 3 left
# running, and every step of the 8 in the CSV (create, pause, unpause; and
# for the 5 others shutdown and destroy too; the boot's unpause is one more
# unpause step each).
"$bootstorm" --dir "$dir" --socket "$dir/x.sock" --domains 8 --watchers 1 \
  --keep 3 --steps-csv "$dir/steps.csv" >"$dir/storm.out" 2>&1 ||
  fail "bootstorm --keep 3 exited $?"
grep -q "result:   every client converged" "$dir/storm.out" || fail "keep: not converged"
running=$("$xensim" --dir "$dir" list | grep -c " storm-")
[ "$running" -eq 3 ] || fail "keep: $running domains left, expected 3"
head -1 "$dir/steps.csv" | grep -qx "domid,kind,unix_ns" || fail "steps: no header"
# kinds: 0 created, 1 unpaused, 2 paused, 3 shutdown requested, 4 destroyed
for kind_count in 0:8 1:16 2:8 3:5 4:5; do
  n=$(awk -F, -v k="${kind_count%%:*}" 'NR > 1 && $2 == k' "$dir/steps.csv" | wc -l)
  [ "$n" -eq "${kind_count#*:}" ] || fail "steps: kind ${kind_count%%:*}: $n, expected ${kind_count#*:}"
done
echo PASS
