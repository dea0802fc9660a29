#!/usr/bin/env bash
# The end-to-end latency CDF of storms, one curve per watcher count, from
# the CSVs tools/bench/storm.sh writes (bootstorm --latency-csv), as a PNG.
# Watch-driven transitions (CREATED, STARTED, SHUTDOWN, DYING, DESTROYED)
# only: the hypervisor-only ones (PAUSED, UNPAUSED) wait for a timer sweep
# and would flatten the plot at the sweep interval.
#
#   tools/bench/plot_latency.sh OUT.png DOMAINS CSV_DIR W [W ...]
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,8p' "$0"; exit 2; }
png=$1 domains=$2 dir=$3
shift 3
. "$(dirname "$0")/plot_lib.sh"
plots=()
for w in "$@"; do
  csv=$dir/latency-$domains-$w.csv
  [ -f "$csv" ] || { echo "plot: no $csv" >&2; exit 1; }
  # action_to_receipt_ms of watch-driven events, sorted, with their rank.
  awk -F, 'NR > 1 && $1 !~ /PAUSED/ { print $4 }' "$csv" | sort -g |
    awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print v[i], i / NR }' \
      >"$tmp/$w.dat"
  plots+=("'$tmp/$w.dat' using 1:2 with lines lw 2 title '$w watcher(s)'")
done
IFS=,
gnuplot <<GP
set terminal pngcairo size 800,480
set output '$png'
set title 'End-to-end latency, toolstack action to client receipt: $domains-domain storm'
set xlabel 'latency (ms, log scale)'
set ylabel 'fraction of events'
set logscale x
set key bottom right
set grid
plot ${plots[*]}
GP
echo "plot: wrote $png"
