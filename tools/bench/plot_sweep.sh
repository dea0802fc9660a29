#!/usr/bin/env bash
# Sweep and reconcile time against domain count, as a PNG: the full-range
# sweep hypercall and Reconciler::OnSweep (nothing changed, and every
# domain's cpu time moved), from sweep_bench's CSV output.
#
#   bazel run -c opt //tools/bench:sweep_bench -- \
#     --benchmark_filter='BM_Sweep/.*/path:0/chunk:0/|BM_ReconcileOnSweep/.*/volatile_pct:(0|100)/' \
#     --benchmark_out=/tmp/sweep.csv --benchmark_out_format=csv
#   tools/bench/plot_sweep.sh OUT.png /tmp/sweep.csv
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,10p' "$0"; exit 2; }
png=$1 csv=$2
command -v gnuplot >/dev/null || { echo "plot: gnuplot is missing (tools/setup.sh installs gnuplot-nox)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# "name",iterations,real_time,cpu_time,time_unit,...: domains and µs.
series() {  # series PATTERN FILE
  awk -F, -v pat="$1" '
    $1 ~ pat {
      name = $1; gsub(/"/, "", name)
      match(name, /domains:[0-9]+/); n = substr(name, RSTART + 8, RLENGTH - 8)
      t = $3; u = $5
      if (u == "ns") t /= 1000; else if (u == "ms") t *= 1000
      print n, t
    }' "$csv" | sort -n >"$tmp/$2"
  [ -s "$tmp/$2" ] || { echo "plot: nothing matches $1 in $csv" >&2; exit 1; }
}
series 'BM_Sweep/domains:[0-9]+/path:0/chunk:0/' sweep.dat
series 'BM_ReconcileOnSweep/domains:[0-9]+/volatile_pct:0/' steady.dat
series 'BM_ReconcileOnSweep/domains:[0-9]+/volatile_pct:100/' volatile.dat
gnuplot <<GP
set terminal pngcairo size 800,480
set output '$png'
set title 'A sweep and its reconcile against domain count (sweep\_bench, -c opt)'
set xlabel 'domains (log scale)'
set ylabel 'time per sweep (µs, log scale)'
set logscale xy
set key top left
set grid
plot '$tmp/sweep.dat' using 1:2 with linespoints lw 2 title 'sweep hypercall (one getdomaininfolist, 0..32751)', \
     '$tmp/steady.dat' using 1:2 with linespoints lw 2 title 'OnSweep, nothing changed', \
     '$tmp/volatile.dat' using 1:2 with linespoints lw 2 title 'OnSweep, every cpu time moved'
GP
echo "plot: wrote $png"
