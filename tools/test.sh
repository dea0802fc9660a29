#!/usr/bin/env bash
# Sets up the machine (tools/setup.sh), runs every test with Bazel, then
# the sanitizer and analysis builds (tools/sanitize.sh; XENLET_SANITIZE=0
# skips them), then each libFuzzer target for a bounded time
# (tools/fuzz.sh, $XENLET_FUZZ_SECONDS, default 20 each; 0 skips it). The
# last line is "N passed, N failed", counting test cases (from each test
# target's XML; a target that failed to build or left no XML counts as one
# failure), each target under a sanitizer, the analysis and each fuzz
# target as one. Exit status: Bazel's, or 1 if only sanitizing or fuzzing
# failed (0: all passed).
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel test --keep_going "$@" //... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
testlogs=$(bazel info bazel-testlogs 2>/dev/null)
fuzz_log=$(mktemp)
sanitize_log=$(mktemp)
trap 'rm -f "$log" "$fuzz_log" "$sanitize_log"' EXIT
# Thread-safety analysis, ASan+UBSan and TSan, each in a build of its own
# (tools/sanitize.sh; XENLET_SANITIZE=0 skips them).
if [ "${XENLET_SANITIZE:-1}" != 0 ]; then
  tools/sanitize.sh 2>&1 | tee "$sanitize_log"
  sanitize_rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] && [ "$sanitize_rc" -ne 0 ] && rc=1
fi
fuzz_seconds=${XENLET_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ]; then
  tools/fuzz.sh "$fuzz_seconds" 2>&1 | tee "$fuzz_log"
  fuzz_rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] && [ "$fuzz_rc" -ne 0 ] && rc=1
fi
python3 tools/test_summary.py "$log" "$testlogs" "$rc" "$fuzz_log" \
  "$sanitize_log"
exit "$rc"
