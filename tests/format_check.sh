#!/usr/bin/env bash
# Fails if a C, C++ or proto file of the repository is not clang-formatted
# (Google style, .clang-format at the top). Runs on the real checkout, not on
# a sandboxed copy, so it sees every tracked file.
set -euo pipefail
style=$(readlink -f "${TEST_SRCDIR}/${TEST_WORKSPACE}/.clang-format")
top=$(dirname "$style")
cd "$top"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard \
    '*.cc' '*.h' '*.c' '*.proto')
else
  mapfile -t files < <(find . -path ./bazel-\* -prune -o \
    \( -name '*.cc' -o -name '*.h' -o -name '*.c' -o -name '*.proto' \) -print)
fi
bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  clang-format --style=file --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
echo "checked ${#files[@]} files with $(clang-format --version)"
if [ ${#bad[@]} -gt 0 ]; then
  echo "not clang-formatted (run: clang-format -i FILE):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
