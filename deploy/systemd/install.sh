#!/usr/bin/env bash
# Installs xenlet on a Xen dom0 as a systemd service:
#
#   /usr/sbin/xenlet                        the agent
#   /usr/bin/xenletctl                      the operator CLI
#   /etc/systemd/system/xenlet.service      the unit (deploy/systemd/xenlet.service)
#   /etc/xenlet/xenlet.conf                 the flag file, every flag commented
#                                           out at its default; never overwritten
#                                           (a newer one goes to xenlet.conf.dist)
#   /usr/share/doc/xenlet/                  docs/real-xen.md, docs/operations.md
#
# Usage (from the repository, as root):
#   deploy/systemd/install.sh [--build] [--enable]
#     --build    first build both binaries: bazel build -c opt //agent:xenlet //tools/xenletctl
#     --enable   then systemctl enable --now xenlet (else it says how)
#   DESTDIR=/some/root deploy/systemd/install.sh
#              installs under that root instead (a package, a test); no systemctl
#   XENLET_BIN_DIR=DIR    where xenlet and xenletctl are (default: bazel-bin's)
#
# Then: docs/real-xen.md, "Checking that it works".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=0
enable=0
for arg in "$@"; do
  case "$arg" in
    --build) build=1 ;;
    --enable) enable=1 ;;
    -h | --help)
      sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install.sh: unknown argument $arg (see --help)" >&2
      exit 2
      ;;
  esac
done
root=${DESTDIR:-}
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (or set DESTDIR to stage the files)" >&2
  exit 1
fi

if [ "$build" = 1 ]; then
  (cd "$top" && bazel build -c opt //agent:xenlet //tools/xenletctl)
fi
if [ -n "${XENLET_BIN_DIR:-}" ]; then
  agent="$XENLET_BIN_DIR/xenlet"
  ctl="$XENLET_BIN_DIR/xenletctl"
else
  agent="$top/bazel-bin/agent/xenlet"
  ctl="$top/bazel-bin/tools/xenletctl/xenletctl"
fi
for binary in "$agent" "$ctl"; do
  if [ ! -x "$binary" ]; then
    echo "install.sh: $binary is not built (add --build)" >&2
    exit 1
  fi
done

install -d -m 0755 "$root/usr/sbin" "$root/usr/bin" \
  "$root/etc/systemd/system" "$root/usr/share/doc/xenlet"
install -d -m 0750 "$root/etc/xenlet"
install -m 0755 "$agent" "$root/usr/sbin/xenlet"
install -m 0755 "$ctl" "$root/usr/bin/xenletctl"
install -m 0644 "$here/xenlet.service" "$root/etc/systemd/system/xenlet.service"
install -m 0644 "$top/docs/real-xen.md" "$top/docs/operations.md" \
  "$root/usr/share/doc/xenlet/"
conf="$root/etc/xenlet/xenlet.conf"
if [ -e "$conf" ]; then
  # The operator's settings stay; the new example goes beside them.
  install -m 0640 "$here/xenlet.conf" "$conf.dist"
  echo "kept $conf; the shipped one is $conf.dist"
else
  install -m 0640 "$here/xenlet.conf" "$conf"
fi
echo "installed xenlet $("$root/usr/sbin/xenlet" --version) under ${root:-/}"

# The flag file must parse: the agent would refuse to start otherwise. Its
# --help exits once the flags (and so the file) are read.
if ! "$root/usr/sbin/xenlet" --config "$conf" --help >/dev/null; then
  echo "install.sh: $conf does not parse (see the error above)" >&2
  exit 1
fi

if [ -n "$root" ]; then
  exit 0
fi
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /etc/systemd/system/xenlet.service
fi
systemctl daemon-reload
if [ "$enable" = 1 ]; then
  systemctl enable --now xenlet.service
  systemctl --no-pager status xenlet.service || true
else
  echo "start it with: systemctl enable --now xenlet"
fi
