#!/usr/bin/env bash
# The static-export bench: 1,000 and 10,000 generated Markdown articles
# (about 1 KB, 3 tags, a category) over the demo site; a full export, an
# incremental export after one edit, and Hugo's build of the same articles
# with a minimal layout when hugo is installed (build/deps.sh bench
# installs it), as a ratio (server/export.BenchmarkExport; `make bench`
# runs it with the rest).
#   build/bench-export.sh
#   TROVATO_BENCH_EXPORT_SIZES=1000 build/bench-export.sh
#   TROVATO_BENCH_EXPORT_CPUPROFILE=inc.prof build/bench-export.sh  (CPU profile of the incremental exports)
set -euo pipefail
cd "$(dirname "$0")/.."
build/deps.sh bench
GO=${GO:-go}
$GO run ./build/testenv -- $GO test -count=1 -run '^$' -bench '^BenchmarkExport$' -benchtime 1x -timeout 60m ./server/export
