#!/usr/bin/env bash
# Generates the Python stubs of the xenlet.v1 API into OUTDIR, with Debian's
# protoc (3.21, protobuf-compiler) and gRPC's Python plugin
# (protobuf-compiler-grpc). Stubs are generated, never committed.
#
#   examples/python/generate.sh OUTDIR
#   PYTHONPATH=OUTDIR /usr/bin/python3 examples/python/xenlet_model.py --help
#
# OUTDIR gets xenlet/v1/*_pb2.py and *_pb2_grpc.py (namespace packages: no
# __init__.py is needed). The well-known types (duration, timestamp, ...)
# come from /usr/include when compiling and from python3-protobuf at run time.
set -euo pipefail
if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
# The API's import root: proto/ of this repository (this script is in
# examples/python/).
proto=$(cd "$(dirname "$0")/../../proto" && pwd)
protoc=${PROTOC:-/usr/bin/protoc}
plugin=${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}
mkdir -p "$out"
"$protoc" -I"$proto" -I/usr/include \
  --python_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python="$plugin" \
  "$proto"/xenlet/v1/*.proto
