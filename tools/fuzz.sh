#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (bazel --config=fuzz)
# and runs each for SECONDS (default 20) on a copy of its committed corpus.
# A crash leaves the input in tests/fuzz/crashes/NAME/ and fails the run.
# Prints one line per target, "fuzz NAME: passed|failed ...", and exits
# non-zero if any failed. Usage: tools/fuzz.sh [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
targets=(request page_token xenstore_path)
if ! command -v clang-14 >/dev/null; then
  echo "fuzz: clang-14 is not installed (tools/setup.sh installs it)" >&2
  exit 1
fi
labels=()
for t in "${targets[@]}"; do labels+=("//tests/fuzz:${t}_fuzzer"); done
if ! bazel build --config=fuzz "${labels[@]}"; then
  for t in "${targets[@]}"; do echo "fuzz $t: failed (build)"; done
  exit 1
fi
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  cp -r "tests/fuzz/corpus/$t" "$work/$t"
  mkdir -p "tests/fuzz/crashes/$t"
  if "$bin/tests/fuzz/${t}_fuzzer" -max_total_time="$seconds" \
      -artifact_prefix="tests/fuzz/crashes/$t/" -print_final_stats=1 \
      "$work/$t" >"$work/$t.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" |
           grep -o '[0-9]*$')
    echo "fuzz $t: passed (${runs:-?} inputs in ${seconds}s)"
    rmdir "tests/fuzz/crashes/$t" 2>/dev/null || true
  else
    failed=1
    echo "fuzz $t: failed; see tests/fuzz/crashes/$t/"
    tail -30 "$work/$t.log"
  fi
done
rmdir tests/fuzz/crashes 2>/dev/null || true
exit "$failed"
