#!/usr/bin/env bash
# The site bench alone: one demo item page over HTTP on 127.0.0.1, served
# by trovato (rendered on every request) and, in the same run, as a static
# file by nginx; wrk measures both and a table is printed. `make bench`
# runs it too (server.BenchmarkSite), with every other benchmark.
#   build/bench-site.sh                      # wrk -t2 -c32 -d10s
#   TROVATO_BENCH_WRK="-t2 -c64 -d30s" build/bench-site.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build/deps.sh bench
GO=${GO:-go}
$GO run ./build/testenv -- $GO test -count=1 -run '^$' -bench '^BenchmarkSite$' -benchtime 1x ./server
