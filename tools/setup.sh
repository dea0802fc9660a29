#!/usr/bin/env bash
# Installs the Debian 12 packages xenlet needs to build, test and run its
# simulated host. Idempotent: prints nothing when everything is there.
# Run as root on a fresh machine (CI does); otherwise it only checks.
set -euo pipefail

packages=(
  # build: offline Bazel and Debian's C++ libraries
  bazel-bootstrap bazel-rules-java
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libcli11-dev prometheus-cpp-dev libxen-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # simulated host: the real xenstored and the xenstore CLI tools
  xen-utils-4.17 xenstore-utils
  # tests: format check, TLS certificates, CI summary
  clang-format openssl python3 git
  # tests/fuzz: clang with libFuzzer and ASan (tools/fuzz.sh)
  clang-14 libclang-rt-14-dev
  # tests/metrics: promtool and a real Prometheus server scraping the agent
  prometheus
  # tools/bench: the plots in BENCHMARKS.md
  gnuplot-nox
  # examples/python: the example client's gRPC and protobuf runtimes
  python3-grpcio python3-protobuf
  # tests/deploy: systemd-analyze verifies the systemd unit
  systemd
  # fleet/: the NATS C client, and the JetStream servers of the fleet tests
  libnats-dev nats-server
  # tests/fleet: a network namespace per simulated host
  iproute2
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root: sudo $0" >&2
  exit 1
fi
echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# No recommends: xen-utils' recommends pull in the hypervisor, qemu and grub.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
