#!/usr/bin/env bash
# The agent's resident memory against the domains it holds, as a PNG, from
# the once-a-second samples tools/bench/storm.sh takes (resources-*.csv:
# seconds, domains in the last sweep, RSS MiB, most events queued in one
# stream), over the boot: each CSV's rows until the domain count first
# reaches its highest. One curve per CSV, titled with its file name.
#
#   tools/bench/plot_rss.sh OUT.png TITLE CSV [CSV ...]
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,7p' "$0"; exit 2; }
png=$1 title=$2
shift 2
. "$(dirname "$0")/plot_lib.sh"
plots=()
for csv in "$@"; do
  [ -f "$csv" ] || { echo "plot: no $csv" >&2; exit 1; }
  name=$(basename "$csv" .csv)
  awk -F, 'NR > 1 && $2 != "" { d[++n] = $2; r[n] = $3; if ($2 > max) max = $2 }
    END { for (i = 1; i <= n; i++) { print d[i] "," r[i]; if (d[i] == max) break } }' \
    "$csv" >"$tmp/$name.csv"
  plots+=("'$tmp/$name.csv' using 1:2 with lines lw 2 title '${name#resources-}'")
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
