#!/usr/bin/env bash
# The toolstack's boot rate with and without the agent, as a PNG bar chart
# from the summary.csv tools/bench/storm.sh writes (one row per storm):
# domains per second per domain count, the no-agent baseline (0 watchers)
# beside each watcher count.
#
#   tools/bench/plot_boot_rate.sh OUT.png SUMMARY.csv
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,7p' "$0"; exit 2; }
png=$1 csv=$2
. "$(dirname "$0")/plot_lib.sh"
# Rows "DOMAINS-domains/W watchers rate", libxl keys and no stalled
# watchers only, in the file's order.
awk -F, 'NR > 1 && $4 == "libxl" && $3 == 0 {
  label = ($2 == 0 ? "no agent" : $2 " w")
  printf "\"%s\\n%s\" %s\n", label, $1, $6
}' "$csv" >"$tmp/rates.dat"
[ -s "$tmp/rates.dat" ] || { echo "plot: no libxl storm rows in $csv" >&2; exit 1; }
gnuplot <<GP
set terminal pngcairo size 800,480
set output '$png'
set title 'Toolstack boot rate, with the agent (W watchers) and without'
set ylabel 'domains booted per second'
set yrange [0:*]
set style fill solid 0.6
set boxwidth 0.6
set grid ytics
set bmargin 4
unset key
plot '$tmp/rates.dat' using 0:2:xtic(1) with boxes, \
     '' using 0:2:(sprintf("%.1f", \$2)) with labels offset 0,0.7
GP
echo "plot: wrote $png"
