#!/usr/bin/env bash
# Sweep and reconcile time against domain count, as a PNG: the full-range
# sweep hypercall and Reconciler::OnSweep (nothing changed, and every
# domain's cpu time moved), from sweep_bench's JSON output.
#
#   bazel run -c opt //tools/bench:sweep_bench -- \
#     --benchmark_out=/tmp/sweep.json --benchmark_out_format=json
#   tools/bench/plot_sweep.sh OUT.png /tmp/sweep.json
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,9p' "$0"; exit 2; }
png=$1 json=$2
. "$(dirname "$0")/plot_lib.sh"
# (Google Benchmark's CSV output refuses rows with different counters, so
# JSON.) Three series of "domains µs", sorted by domains.
python3 - "$json" "$tmp" <<'PY'
import json, re, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
series = {
    "sweep.dat": r"BM_Sweep/domains:(\d+)/path:0/chunk:0/",
    "steady.dat": r"BM_ReconcileOnSweep/domains:(\d+)/volatile_pct:0/",
    "volatile.dat": r"BM_ReconcileOnSweep/domains:(\d+)/volatile_pct:100/",
}
scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
for name, pattern in series.items():
    points = sorted(
        (int(m.group(1)), r["real_time"] * scale[r["time_unit"]])
        for r in runs
        if r.get("run_type", "iteration") == "iteration"
        for m in [re.match(pattern, r["name"])] if m)
    if not points:
        sys.exit(f"plot: no {pattern} in {sys.argv[1]}")
    with open(f"{sys.argv[2]}/{name}", "w") as out:
        for n, us in points:
            out.write(f"{n} {us}\n")
PY
gnuplot <<GP
set terminal pngcairo size 800,480
set output '$png'
set title 'A sweep and its reconcile against domain count (sweep\_bench, -c opt)'
set xlabel 'domains (log scale)'
set ylabel 'time per sweep (µs, log scale)'
set logscale xy
set xrange [700:45000]
set key top left
set grid
plot '$tmp/sweep.dat' using 1:2 with linespoints lw 2 title 'sweep hypercall (one getdomaininfolist, 0..32751)', \
     '$tmp/steady.dat' using 1:2 with linespoints lw 2 title 'OnSweep, nothing changed', \
     '$tmp/volatile.dat' using 1:2 with linespoints lw 2 title 'OnSweep, every cpu time moved'
GP
echo "plot: wrote $png"
