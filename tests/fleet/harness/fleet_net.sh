#!/usr/bin/env bash
# The fleet harness's network (docs/fleet.md 2.7), as root:
#
#   fleet_net.sh up K     bridge xlf-nats with 10.77.0.1-3 (one address per
#                         NATS node); host i = 1..K gets namespace xlf-h<i>
#                         and a veth pair: xlf-h<i>-r (root side,
#                         10.77.<i>.1/24) and xlf-h<i>-n (inside,
#                         10.77.<i>.2/24), with a route to 10.77.0.0/24 and
#                         no default route. Removes what an earlier run left
#                         first.
#   fleet_net.sh down     removes every xlf-h* namespace and link and the
#                         bridge (what `up` made; tolerates what is gone)
#   fleet_net.sh cut I    host I loses the network (its root-side link down)
#   fleet_net.sh restore I  and gets it back
#
# Only names with the xlf- prefix and addresses in 10.77.0.0/16 are
# touched; the caller holds the harness's lock, so no other run owns them.
set -euo pipefail

down() {
  local ns link
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^xlf-h[0-9]+$/ { print $1 }'); do
    ip netns del "$ns" 2>/dev/null || true
  done
  # A veth's root side; deleting it deletes its peer too.
  for link in $(ip -o link show 2>/dev/null |
    awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^xlf-' || true); do
    ip link del "$link" 2>/dev/null || true
  done
}

up() {
  local hosts=$1 i
  down
  ip link add xlf-nats type bridge
  ip link set xlf-nats up
  for i in 1 2 3; do ip addr add "10.77.0.$i/24" dev xlf-nats; done
  for i in $(seq 1 "$hosts"); do
    ip netns add "xlf-h$i"
    ip link add "xlf-h$i-r" type veth peer name "xlf-h$i-n"
    ip link set "xlf-h$i-n" netns "xlf-h$i"
    ip addr add "10.77.$i.1/24" dev "xlf-h$i-r"
    ip link set "xlf-h$i-r" up
    ip netns exec "xlf-h$i" ip link set lo up
    ip netns exec "xlf-h$i" ip addr add "10.77.$i.2/24" dev "xlf-h$i-n"
    ip netns exec "xlf-h$i" ip link set "xlf-h$i-n" up
    ip netns exec "xlf-h$i" ip route add 10.77.0.0/24 via "10.77.$i.1"
  done
}

host_index() {
  [[ ${1:-} =~ ^[0-9]+$ ]] || { echo "fleet_net.sh: a host number, not '${1:-}'" >&2; exit 2; }
  echo "$1"
}

case "${1:-}" in
  up) up "$(host_index "${2:-}")" ;;
  down) down ;;
  cut) ip link set "xlf-h$(host_index "${2:-}")-r" down ;;
  restore) ip link set "xlf-h$(host_index "${2:-}")-r" up ;;
  *)
    sed -n '2,16p' "$0" >&2
    exit 2
    ;;
esac
