#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md's charts, and the tables they are drawn
# from, on this machine: about 15 minutes. The tables go to
# docs/bench-out/, the charts to docs/; copy the tables into
# docs/BENCHMARKS.md by hand, with the date and machine they print.
#
#   bench/charts.sh            # from anywhere in the checkout
#
# Arguments go to cmd/load, after the defaults below, and CHARTS_RUNS sets
# the verify runs (default 20); CHARTS_OUT writes the tables and charts
# under another directory instead of docs/. A quick check that every
# phase and chart still works, in about two minutes, leaving docs/ alone:
#
#   CHARTS_OUT=/tmp/charts CHARTS_RUNS=1 bench/charts.sh -rounds 1 -duration 1s -slices 2 \
#       -mix 20000 -fresh 400 -refresh-browsers 2 -refresh-cycles 2
set -euo pipefail
cd "$(dirname "$0")"
docs=$(realpath -m "${CHARTS_OUT:-../docs}")
out=$docs/bench-out
mkdir -p "$out"

# 1. Verifying one token, CHARTS_RUNS runs one after another (paired by run).
go test -c -o "$out/bench.test" .
for i in $(seq "${CHARTS_RUNS:-20}"); do
	"$out/bench.test" -test.run '^$' -test.bench . -test.benchtime 500ms
done | tee "$out/verify.txt" | go run ./cmd/benchtable -chart "$docs/verify-cost.svg" >"$out/verify.md"
rm -f "$out/bench.test"

# 2. The load comparison, servers pinned to CPU 0 and the generator to CPU 1,
#    with every phase (page loads included) in the chart.
go run ./cmd/load -distinct 0 -server-cpus 0 -load-cpus 1 -chart "$docs/load-req-per-s.svg" "$@" >"$out/load.md"
echo "tables in $out; charts in $docs/verify-cost.svg and $docs/load-req-per-s.svg"
