# Sourced by the tools/bench/plot_*.sh scripts: gnuplot must be there, and
# $tmp is a scratch directory removed on exit.
command -v gnuplot >/dev/null || {
  echo "plot: gnuplot is missing (tools/setup.sh installs gnuplot-nox)" >&2
  exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
