#!/usr/bin/env bash
# The README's main command as a new user meets it, with 20 domains instead
# of 1000 and the binaries Bazel built for the test:
# - in a log (not a terminal) and on a terminal (script(1) gives it one),
#   every line it prints fits 80 columns, and it ends with every domain
#   accounted for and where to point xenletctl, grpcurl and Prometheus;
# - --keep leaves the host, the agent and the domains running, and the stop
#   script it prints stops them;
# - Ctrl-C (SIGINT to its process group, as a terminal sends it) in the
#   middle of a storm stops everything it started.
# Where a process has no way to say it is done (the agent's readiness, an
# exit), the script polls with a bound.
set -uo pipefail
r=$TEST_SRCDIR/$TEST_WORKSPACE
demo=$r/tools/demo.sh
out=$(mktemp -d /tmp/xldemo.XXXXXX)
leftover=()
cleanup() {
  for p in "${leftover[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for d in /tmp/xenlet-demo.*; do
    grep -qs "$out" "$d/owner" && rm -rf "$d"
  done
  rm -rf "$out"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Every line at most 80 characters once the terminal's control sequences
# (cursor up, clear) and carriage returns are taken out.
check_widths() {
  local file=$1
  sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/\r//g' "$file" |
    awk -v f="$file" 'length($0) > 80 { printf "%s: %d columns: %s\n", f, length($0), $0; bad = 1 }
                       END { exit bad }' || fail "lines wider than 80 columns"
}

# The processes of a demo's host, from its directory (while it exists).
host_pids() {
  local dir=$1
  cat "$dir/xenstored.pid" "$dir/guests.pid" 2>/dev/null
  pgrep -f "$dir/xenlet.sock"
}

# Each pid gone (bounded poll: an exit that is not our child's says
# nothing); those are no longer ours to kill at the end.
expect_gone() {
  local what=$1; shift
  for p in "$@"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$p" 2>/dev/null && fail "$what: process $p is still running"
    local kept=()
    for q in "${leftover[@]}"; do [ "$q" = "$p" ] || kept+=("$q"); done
    leftover=("${kept[@]}")
  done
  return 0
}

echo "== in a log: 20 domains"
"$demo" --no-build --bin-dir "$r" --domains 20 >"$out/log.txt" 2>&1 ||
  { rc=$?; cat "$out/log.txt"; fail "demo exited $rc"; }
cat "$out/log.txt"
check_widths "$out/log.txt"
grep -q $'\x1b' "$out/log.txt" && fail "control sequences in a log"
grep -q "^== result: all 20 domains booted, shut down and destroyed;" "$out/log.txt" ||
  fail "no result line"
grep -q "result:   every client converged" "$out/log.txt" || fail "a client did not converge"
grep -q "destroyed: every client matches the hypervisor (1 domain)" "$out/log.txt" ||
  fail "the destroyed phase was not checked"
grep -Eq "^ finished +\[#+\] 20/20 " "$out/log.txt" || fail "no final panel"
grep -Eq "^ domains +[0-9]+ running, " "$out/log.txt" || fail "no domains line"
grep -Eq "^  [0-9:.]{12}  [A-Z]+ +domid [0-9]+ " "$out/log.txt" || fail "no sampled event"
grep -q "grpcurl -plaintext -unix" "$out/log.txt" || fail "no grpcurl pointer"
grep -q "http://127.0.0.1:[0-9]*/metrics" "$out/log.txt" || fail "no metrics pointer"
dir=$(grep -o '/tmp/xenlet-demo\.[A-Za-z0-9]*' "$out/log.txt" | head -1)
[ -n "$dir" ] && [ ! -e "$dir" ] || fail "the host directory $dir was left behind"
[ -z "$(pgrep -f "$dir/")" ] || fail "processes of $dir are still running"

echo "== on a terminal: 20 domains"
# What the terminal shows is what script(1) writes on its own stdout.
script -qefc "$(printf '%q ' "$demo" --no-build --bin-dir "$r" --domains 20)" \
  /dev/null >"$out/tty.raw" 2>&1 </dev/null ||
  { rc=$?; cat "$out/tty.raw"; fail "demo on a terminal exited $rc"; }
check_widths "$out/tty.raw"
grep -q $'\x1b\\[[0-9]*A' "$out/tty.raw" || fail "the panel was not redrawn in place"
grep -q "== result: all 20 domains booted" "$out/tty.raw" || fail "no result on a terminal"

echo "== --keep: 5 domains"
"$demo" --no-build --bin-dir "$r" --domains 5 --keep >"$out/keep.txt" 2>&1 ||
  { rc=$?; cat "$out/keep.txt"; fail "demo --keep exited $rc"; }
cat "$out/keep.txt"
check_widths "$out/keep.txt"
dir=$(grep -o '/tmp/xenlet-demo\.[A-Za-z0-9]*' "$out/keep.txt" | head -1)
[ -d "$dir" ] || fail "--keep removed its directory"
echo "$out" >"$dir/owner"
mapfile -t pids < <(host_pids "$dir")
leftover+=("${pids[@]}")
[ "${#pids[@]}" -ge 3 ] || fail "--keep: expected xenstored, guests and xenlet running, got ${pids[*]}"
"$dir/xenletctl" list >"$out/list.txt" || fail "the kept agent does not answer"
[ "$(grep -c ' storm-' "$out/list.txt")" -eq 5 ] || { cat "$out/list.txt"; fail "the 5 domains are not listed"; }
grep -q "stop it all $dir/stop" "$out/keep.txt" || fail "no stop command printed"
"$dir/stop" >/dev/null || fail "the stop script failed"
expect_gone "--keep stop" "${pids[@]}"
[ ! -e "$dir" ] || fail "the stop script left $dir"

echo "== Ctrl-C in the middle of a storm of 1000 domains"
mkfifo "$out/fifo"
# In a process group of its own, as a terminal's foreground job, with
# SIGINT's default action: a background job of this non-interactive shell
# would inherit SIGINT ignored, which no trap can undo.
python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setpgid(0, 0)
os.execv(sys.argv[1], sys.argv[1:])' "$demo" --no-build --bin-dir "$r" \
  --domains 1000 >"$out/fifo" 2>&1 &
demo_pid=$!
leftover+=("$demo_pid")
dir=
# Read its output until the storm has begun, then interrupt it.
exec 3<"$out/fifo"
while IFS= read -r -t 60 line <&3; do
  echo "$line" >>"$out/int.txt"
  [[ "$line" =~ ^\ +(/tmp/xenlet-demo\.[A-Za-z0-9]+)$ ]] && dir=${BASH_REMATCH[1]}
  [[ "$line" == "bootstorm: booting"* ]] && break
done
[ -n "$dir" ] || { cat "$out/int.txt"; fail "the demo did not say where its host is"; }
echo "$out" >"$dir/owner"
mapfile -t pids < <(host_pids "$dir")
leftover+=("${pids[@]}")
[ "${#pids[@]}" -ge 3 ] || fail "Ctrl-C: expected xenstored, guests and xenlet running, got ${pids[*]}"
kill -INT -- "-$demo_pid"
# To its end (the demo closes its output when it exits), bounded.
timeout 120 cat <&3 >>"$out/int.txt" || fail "the interrupted demo did not end"
wait "$demo_pid"
status=$?
exec 3<&-
cat "$out/int.txt"
check_widths "$out/int.txt"
[ "$status" -eq 130 ] || fail "Ctrl-C: exit status $status, expected 130"
grep -q "interrupted; stopping everything it started" "$out/int.txt" || fail "no interruption message"
expect_gone "Ctrl-C" "${pids[@]}"
[ ! -e "$dir" ] || fail "Ctrl-C left $dir"
echo "PASS"
