#!/usr/bin/env bash
# The agent's resident memory against the domains it holds, as a PNG, from
# the once-a-second samples tools/bench/storm.sh takes (resources-*.csv:
# seconds, domains in the last sweep, RSS MiB, most events queued in one
# stream). One curve per CSV, titled with its file name.
#
#   tools/bench/plot_rss.sh OUT.png TITLE CSV [CSV ...]
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,7p' "$0"; exit 2; }
png=$1 title=$2
shift 2
command -v gnuplot >/dev/null || { echo "plot: gnuplot is missing (tools/setup.sh installs gnuplot-nox)" >&2; exit 1; }
plots=()
for csv in "$@"; do
  [ -f "$csv" ] || { echo "plot: no $csv" >&2; exit 1; }
  name=$(basename "$csv" .csv)
  plots+=("'$csv' using 2:3 every ::1 with lines lw 2 title '${name#resources-}'")
done
IFS=,
gnuplot <<GP
set terminal pngcairo size 800,480
set output '$png'
set datafile separator ','
set title '$title'
set xlabel 'domains the agent holds'
set ylabel 'agent RSS (MiB)'
set yrange [0:*]
set key top left
set grid
plot ${plots[*]}
GP
echo "plot: wrote $png"
