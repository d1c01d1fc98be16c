#!/usr/bin/env bash
# The site bench alone: the demo item page over HTTP on 127.0.0.1 as
# `trovato serve` serves it (server.NewHTTPServer on server.Listener),
# next to nginx serving the same bytes as a static file in the same run;
# wrk measures both (keep-alive, no Accept-Encoding: identity bytes on
# both sides). First rendered on every request (server.BenchmarkSite),
# then from the page cache (server.BenchmarkCachedPageHTTP), which also
# prints the CPU time each request costs the server, nginx and wrk: on a
# machine shared with other work, CPU per request moves far less than
# req/s does. `make bench` runs both, with every other benchmark.
#   build/bench-site.sh                      # wrk -t2 -c32 -d10s, -d5s cached
#   TROVATO_BENCH_WRK="-t2 -c64 -d30s" build/bench-site.sh
#   TROVATO_BENCH_LOG=1 build/bench-site.sh  # with request logs, as serve's default
set -euo pipefail
cd "$(dirname "$0")/.."
build/deps.sh bench
GO=${GO:-go}
echo "load: $(uptime)"
$GO run ./build/testenv -- $GO test -count=1 -run '^$' -bench '^(BenchmarkSite|BenchmarkCachedPageHTTP)$' -benchtime 1x ./server
echo "load: $(uptime)"
