#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md's charts, and the tables they are drawn
# from, on this machine: about 15 minutes. The tables go to
# docs/bench-out/, the charts to docs/; copy the tables into
# docs/BENCHMARKS.md by hand, with the date and machine they print.
#
#   bench/charts.sh            # from anywhere in the checkout
set -euo pipefail
cd "$(dirname "$0")"
out=../docs/bench-out
mkdir -p "$out"

# 1. Verifying one token, 20 runs one after another (paired by run).
go test -c -o "$out/bench.test" .
for i in $(seq 20); do
	"$out/bench.test" -test.run '^$' -test.bench . -test.benchtime 500ms
done | tee "$out/verify.txt" | go run ./cmd/benchtable -chart ../docs/verify-cost.svg >"$out/verify.md"
rm -f "$out/bench.test"

# 2. The load comparison, servers pinned to CPU 0 and the generator to CPU 1.
go run ./cmd/load -distinct 0 -server-cpus 0 -load-cpus 1 -chart ../docs/load-req-per-s.svg >"$out/load.md"
echo "tables in $out; charts in docs/verify-cost.svg and docs/load-req-per-s.svg"
