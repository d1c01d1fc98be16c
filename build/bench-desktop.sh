#!/usr/bin/env bash
# The desktop bench, under Xvfb: first-run setup on an empty data
# directory (initdb, schema, starter site, reference plugins) and cold
# start to an editable window on that existing site (process start until
# the editor in the window got its session from /api/v1: PostgreSQL
# started, the editor's page and scripts loaded; plugins load beside it). Each
# run is a fresh process whose private PostgreSQL starts from cold.
# The first-run line is followed by its phases; the reference plugins
# compile, install and enable in the background after the site is ready
# (and load from the compilation cache beside the window on later
# starts), so their time is shown apart, from process start.
# `make bench` runs it after building the app (make desktop).
#   build/bench-desktop.sh            # 1 first run, 5 cold starts
#   RUNS=10 build/bench-desktop.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/trovato-desktop}
RUNS=${RUNS:-5}
if [[ ! -x $BIN ]]; then
	echo "bench-desktop: $BIN is missing: run make desktop" >&2
	exit 1
fi

# A free X display.
disp=""
for n in $(seq 99 199); do
	if [[ ! -e /tmp/.X$n-lock && ! -e /tmp/.X11-unix/X$n ]]; then disp=":$n"; break; fi
done
[[ -n $disp ]] || { echo "bench-desktop: no free X display" >&2; exit 1; }
Xvfb "$disp" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
work=$(mktemp -d /tmp/trovato-bench-desktop.XXXXXX)
chmod 755 "$work" # running as root, PostgreSQL runs as postgres
cleanup() { kill "$xvfb" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 50); do [[ -e /tmp/.X11-unix/X${disp#:} ]] && break; sleep 0.1; done

run_app() { # run_app LOGFILE [ENV...]: one app run that quits when editable
	local log=$1; shift
	env -u DATABASE_URL -u TROVATO_DATABASE_URL -u REDIS_URL -u DBUS_SESSION_BUS_ADDRESS \
		DISPLAY="$disp" DBUS_SESSION_BUS_ADDRESS=disabled: TROVATO_DATA_DIR="$work/site" \
		TROVATO_DESKTOP_EXIT_WHEN_READY=1 "$@" timeout 120 "$BIN" >"$log" 2>&1 || {
		echo "bench-desktop: the app failed:" >&2; cat "$log" >&2; exit 1; }
}
ms_of() { # ms_of LOGFILE PATTERN
	sed -n "s/.*$2 \([0-9]*\) ms.*/\1/p" "$1" | head -1
}

run_app "$work/first.log" TROVATO_DESKTOP_AUTOSETUP=new
setup=$(ms_of "$work/first.log" "setup took")
first=$(ms_of "$work/first.log" "editable after")
cold=()
for i in $(seq "$RUNS"); do
	run_app "$work/cold$i.log"
	cold+=("$(ms_of "$work/cold$i.log" "editable after")")
done
sorted=$(printf '%s\n' "${cold[@]}" | sort -n)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
worst=$(echo "$sorted" | tail -1)
best=$(echo "$sorted" | head -1)
echo
echo "desktop (Xvfb, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
printf '%-52s %10s %10s\n' "case" "ms" "target"
printf '%-52s %10s %10s\n' "first-run setup incl. initdb" "$setup" "5000"
sed -n 's/.*setup phase \(.*\): \([0-9]*\) ms.*/\1|\2/p' "$work/first.log" | while IFS='|' read -r name ms; do
	printf '%-52s %10s %10s\n' "  $name" "$ms" "-"
done
printf '%-52s %10s %10s\n' "first run: process start to editable window" "$first" "-"
printf '%-52s %10s %10s\n' "first run: reference plugins in (background, own clock)" "$(ms_of "$work/first.log" "plugins loaded in")" "-"
printf '%-52s %10s %10s\n' "cold start to editable window, median of $RUNS" "$median" "2000"
printf '%-52s %10s %10s\n' "cold start to editable window, best / worst" "$best / $worst" "-"
printf '%-52s %10s %10s\n' "cold start: plugins loaded (background, own clock), run 1" "$(ms_of "$work/cold1.log" "plugins loaded in")" "-"
