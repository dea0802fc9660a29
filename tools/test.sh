#!/usr/bin/env bash
# Sets up the machine (tools/setup.sh) and runs every test with Bazel. The
# last line is "N passed, N failed", counting test cases (from each test
# target's XML; a target that failed to build or left no XML counts as one
# failure). Exit status: Bazel's (0 all passed).
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel test --keep_going "$@" //... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
testlogs=$(bazel info bazel-testlogs 2>/dev/null)
python3 tools/test_summary.py "$log" "$testlogs" "$rc"
exit "$rc"
