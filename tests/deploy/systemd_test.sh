#!/usr/bin/env bash
# deploy/systemd: install.sh stages the agent, the CLI, the unit, the flag
# file and the docs with the right modes, keeps an operator's flag file,
# refuses one that does not parse; the unit passes `systemd-analyze verify`
# and keeps its hardening (`systemd-analyze security`).
set -uo pipefail
src="$TEST_SRCDIR/$TEST_WORKSPACE"
work=$(mktemp -d /tmp/xsd.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$work/bin"
ln -s "$src/agent/xenlet" "$work/bin/xenlet"
ln -s "$src/tools/xenletctl/xenletctl" "$work/bin/xenletctl"
install_to() {
  DESTDIR="$1" XENLET_BIN_DIR="$work/bin" \
    bash "$src/deploy/systemd/install.sh" 2>&1
}

root="$work/root"
out=$(install_to "$root") || fail "install.sh: $out"
mode() { stat -c %a "$root/$1" 2>/dev/null; }
for want in "755 usr/sbin/xenlet" "755 usr/bin/xenletctl" \
    "644 etc/systemd/system/xenlet.service" "750 etc/xenlet" \
    "640 etc/xenlet/xenlet.conf" "644 usr/share/doc/xenlet/real-xen.md" \
    "644 usr/share/doc/xenlet/operations.md"; do
  read -r want_mode path <<<"$want"
  [ "$(mode "$path")" = "$want_mode" ] ||
    fail "/$path: mode $(mode "$path"), want $want_mode"
done
grep -q "^ExecStart=/usr/sbin/xenlet --config /etc/xenlet/xenlet.conf$" \
  "$root/etc/systemd/system/xenlet.service" || fail "ExecStart"

# An operator's flag file stays; the shipped one goes beside it.
echo "sweep-interval = 2" >"$root/etc/xenlet/xenlet.conf"
out=$(install_to "$root") || fail "second install: $out"
grep -qx "sweep-interval = 2" "$root/etc/xenlet/xenlet.conf" ||
  fail "the operator's xenlet.conf was overwritten"
[ -f "$root/etc/xenlet/xenlet.conf.dist" ] || fail "no xenlet.conf.dist"

# One that would not let the agent start is reported.
echo "sweep-intervall = 2" >"$root/etc/xenlet/xenlet.conf"
out=$(install_to "$root") && fail "accepted a flag file with a typo"
grep -q 'unknown key "sweep-intervall"' <<<"$out" ||
  fail "no word of the bad key: $out"

command -v systemd-analyze >/dev/null ||
  fail "systemd-analyze is missing (tools/setup.sh installs systemd)"
# verify needs the units the unit names and the commands it runs: a root
# with the system's units, the agent and kill.
units=$(dirname "$(readlink -f /lib/systemd/system/multi-user.target)")
vroot="$work/vroot"
mkdir -p "$vroot/usr/sbin" "$vroot/etc/systemd/system" \
  "$vroot/usr/lib/systemd" "$vroot/bin"
cp -a "$units" "$vroot/usr/lib/systemd/system"
cp "$src/agent/xenlet" "$vroot/usr/sbin/xenlet"
cp "$(type -P kill)" "$vroot/bin/kill"
cp "$src/deploy/systemd/xenlet.service" "$vroot/etc/systemd/system/"
out=$(systemd-analyze verify --root="$vroot" xenlet.service 2>&1) ||
  fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify says: $out"
out=$(systemd-analyze security --offline=true --root="$vroot" \
  xenlet.service 2>&1) || fail "systemd-analyze security: $out"
level=$(sed -n 's/.*Overall exposure level for xenlet.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$level" ] || fail "no exposure level in: $out"
awk -v l="$level" 'BEGIN { exit !(l <= 3.0) }' ||
  fail "exposure level $level, above 3.0: hardening was lost"
echo "PASS (verify clean, exposure $level)"
