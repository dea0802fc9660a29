#!/usr/bin/env bash
# Each benchmark binary of tools/bench at its smallest sizes, as a smoke
# test: it runs to the end, every row ran (no SkipWithError), every ratio
# asked for has its ratios computed against its baseline, and what the rows count is right (an
# event serialised once per form, whatever the watchers). Times are not
# asserted: they are BENCHMARKS.md's, from optimised builds.
set -uo pipefail
r=$TEST_SRCDIR/$TEST_WORKSPACE/tools/bench
out=$TEST_TMPDIR/bench.out
fail() { echo "FAIL: $*"; cat "$out"; exit 1; }
run() {  # run NAME FILTER [ARGS...]
  "$r/$1" --benchmark_filter="$2" --benchmark_min_time=0.01 "${@:3}" >"$out" 2>&1 ||
    fail "$1 exited $?"
  grep -q "ERROR OCCURRED" "$out" && fail "$1: a row skipped with an error"
  grep -q "^BM_" "$out" || fail "$1: no benchmark ran"
  grep -q "^Ratios (" "$out" || fail "$1: no ratio computed"
  echo "$1: $(grep -c '^BM_' "$out") rows"
}

run sweep_bench 'BM_Sweep/domains:1000/|BM_ReconcileOnSweep/domains:1000/'
grep -Eq "OnSweep, 100% volatile vs the sweep hypercall, 1000 .* = [0-9.]+" "$out" ||
  fail "sweep_bench: no OnSweep ratio"
# A sweep in which every domain's cpu time moved makes no event.
grep -E "^BM_ReconcileOnSweep/domains:1000/volatile_pct:100" "$out" |
  grep -q " 1001 .* 1001 .* 1001" || fail "sweep_bench: OnSweep counters"

run stream_bench 'BM_FanOut/watchers:(1|10)/'
# Shared: one encoding per event; one spelling of the mask per watcher:
# one per watcher.
grep -E "^BM_FanOut/watchers:10/shared:1" "$out" | grep -Eq " 1 +[0-9.]+k/s" ||
  fail "stream_bench: 10 watchers sharing did not encode each event once"
grep -E "^BM_FanOut/watchers:10/shared:0" "$out" | grep -Eq " 10 +[0-9.]+k/s" ||
  fail "stream_bench: 10 watchers with their own masks did not encode 10 times"

run model_bench 'Commit.*/domains:1000/batch:1/'
run control_bench 'PauseUnpause/1/'
grep -Eq "control vs hypercalls, 1 domain .* = [0-9.]+" "$out" ||
  fail "control_bench: no control/hypercalls ratio"
# Both calls acted (none answered ALREADY).
grep -E "^BM_ControlPauseUnpause/1/" "$out" | grep -Eq " 1 +2 *$" ||
  fail "control_bench: not every call acted"
# Listings: the kept wire forms and the per-message baseline both ran; the
# kept ones are made once per domain (1000) over every listing of the run.
run stream_bench 'BM_ListDomainsRpc/domains:1000/page_size:10000/'
grep -Eq "per-message copy vs kept wire forms, 1000 .* = [0-9.]+" "$out" ||
  fail "stream_bench: no listing ratio"
grep -E "^BM_ListDomainsRpc/domains:1000/page_size:10000/first_page_only:0/masked:0" "$out" |
  grep -Eq " 1000 +1000 +" || fail "stream_bench: the kept forms were not made once per domain"

# Queries on 5 domains: xenlet's make no xenstore request; xl list reads
# one key per domain (6 with dom0); the xend ways' traced counts equal
# their own (the bench fails the row otherwise).
QB_ARGS=(--domains=5)
run query_baseline_bench 'BM_Query/' "${QB_ARGS[@]}"
row() { grep -E "^\| 5 \| $1 \|" "$out" | awk -F'|' '{gsub(/ /, ""); print $5, $6, $7}'; }
[ "$(row xenlet_rpc)" = "0 0 trace" ] || fail "query_baseline_bench: xenlet_rpc: $(row xenlet_rpc)"
[ "$(row xenletctl)" = "0 0 trace" ] || fail "query_baseline_bench: xenletctl: $(row xenletctl)"
[ "$(row xl_list)" = "6 0 trace" ] || fail "query_baseline_bench: xl_list: $(row xl_list)"
set -- $(row xend_txn_key)
[ "$2" -gt 5 ] && [ "$1" -gt "$2" ] || fail "query_baseline_bench: xend_txn_key: $*"
echo PASS
