#!/usr/bin/env bash
# The checks that need builds of their own (each config keeps its own
# output directory, so the ordinary build stays cached):
#   - clang's thread-safety analysis over every target (--config=threadsafety):
#     a breach of an ABSL_GUARDED_BY or lock annotation fails the build;
#   - ASan + UBSan (--config=asan) over the store, model and stream tests:
#     the in-memory ones and the gRPC ones;
#   - TSan (--config=tsan) over the store and model tests (the subscription,
#     catch-up, event log, reconciler, sweeper and watcher on the in-memory
#     host) and the gRPC stream tests (queries, WatchDomains, many streams,
#     hostile clients). Debian's gRPC is not built with TSan, so the
#     ordering its completion queues give is invisible: the project's
#     hand-offs to gRPC are told to TSan by hand (common/happens_before.h)
#     and gRPC's own are suppressed (third_party/sanitizers).
# Prints one line per check, "CONFIG TARGET: passed" or "...: failed" (what
# tools/test_summary.py counts), with the failures' output. Exit status 0
# if every check passed.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0

# Compile only (no link, no test binary): the analysis is the compiler's.
if bazel build --config=threadsafety --keep_going \
  --output_groups=compilation_outputs //... >"$log" 2>&1; then
  echo "analysis threadsafety: passed"
else
  echo "analysis threadsafety: failed"
  grep -E "error:|ERROR:" "$log" | head -40
  rc=1
fi

# Runs `bazel test --config=$1` over the rest; a line per target.
sanitize() {
  local config=$1
  shift
  bazel test --config="$config" --keep_going "$@" >"$log" 2>&1
  local status=$?
  local lines
  lines=$(grep -E '^//\S+\s+(\(cached\) )?(PASSED|FLAKY|FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log")
  if [ -z "$lines" ]; then
    echo "$config build: failed"
    grep -E "error:|ERROR:" "$log" | head -40
    rc=1
    return
  fi
  local failed_targets=()
  while read -r target verdict; do
    case "$verdict" in
      PASSED | FLAKY) echo "$config $target: passed" ;;
      *)
        echo "$config $target: failed"
        failed_targets+=("$target")
        rc=1
        ;;
    esac
  done < <(awk '{ for (i = 2; i <= NF; i++) if ($i != "(cached)") { print $1, $i; break } }' <<<"$lines")
  [ "$status" -eq 0 ] || [ "$rc" -ne 0 ] || { echo "$config run: failed"; rc=1; }
  # The sanitizer's own report, from each failed target's log.
  local testlogs
  testlogs=$(bazel info --config="$config" bazel-testlogs 2>/dev/null)
  for target in "${failed_targets[@]}"; do
    local path=${target#//}
    path=$testlogs/${path/://}/test.log
    [ -f "$path" ] && grep -E -A30 "ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:" "$path" | head -60
  done
}

sanitize asan //tests/store/... //tests/xen/... //tests/agent:domain_service_test \
  //tests/agent:many_streams_test //tests/agent:hostile_clients_test \
  //tests/agent:stream_limits_test //tests/agent:encoded_domains_test
sanitize tsan //tests/store/... //tests/xen/... //tests/agent:domain_service_test \
  //tests/agent:many_streams_test //tests/agent:hostile_clients_test
exit "$rc"
