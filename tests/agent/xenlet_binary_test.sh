#!/usr/bin/env bash
# The xenlet binary itself: --help explains every flag, bad flags are
# refused, and on a machine without Xen it says so and exits non-zero
# instead of serving nothing.
set -uo pipefail
xenlet="$TEST_SRCDIR/$TEST_WORKSPACE/agent/xenlet"
dir=$(mktemp -d /tmp/xlb.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

help=$("$xenlet" --help) || fail "--help exited $?"
for flag in --socket --socket-mode --socket-group --listen --tls-cert \
    --tls-key --tls-client-ca --enable-control --control-client \
    --xenstore-socket --shutdown-grace --log-level --log-format --version; do
  grep -q -- "$flag" <<<"$help" || fail "--help does not explain $flag"
done

"$xenlet" --version | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+' ||
  fail "--version prints no version"

out=$("$xenlet" --log-level loud 2>&1) && fail "accepted --log-level loud"
grep -q -- "--log-level" <<<"$out" || fail "error does not name the flag: $out"

out=$("$xenlet" --listen 0.0.0.0:7443 --socket "$dir/s" 2>&1) &&
  fail "accepted plaintext TCP off loopback"
grep -q "TLS" <<<"$out" || fail "no TLS hint: $out"

# No hypervisor here (no /dev/xen/privcmd): a clear error, exit 1, and no
# socket left behind.
if [ ! -e /dev/xen/privcmd ]; then
  out=$(env -u LD_PRELOAD "$xenlet" --socket "$dir/xenlet.sock" 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] || fail "exit $rc without Xen: $out"
  grep -q "xen_unavailable" <<<"$out" || fail "no xen_unavailable: $out"
  [ ! -e "$dir/xenlet.sock" ] || fail "socket left behind"
fi
echo "PASS"
