#!/usr/bin/env bash
# The page-cache bench: a cached demo item page, the front-page gather
# uncached and cached, a search, and nginx serving the item page as a
# static file, all measured by wrk on 127.0.0.1 in one run
# (server.BenchmarkSiteCache; `make bench` runs it with the rest), then the
# CPU one cached hit costs inside the handler (server.BenchmarkCachedPage:
# cpu-ns/op is process CPU time per request, steadier than wall time on a
# shared machine).
#   build/bench-cache.sh                      # wrk -t2 -c32 -d5s per case
#   TROVATO_BENCH_WRK="-t2 -c64 -d30s" build/bench-cache.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build/deps.sh bench
GO=${GO:-go}
$GO run ./build/testenv -- sh -c "$GO test -count=1 -run '^\$' -bench '^BenchmarkSiteCache\$' -benchtime 1x ./server &&
  $GO test -count=3 -run '^\$' -bench '^BenchmarkCachedPage\$' -benchtime 200000x ./server"
