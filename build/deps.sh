#!/usr/bin/env bash
# Installs what each make target needs. Idempotent: installs only what is
# missing, so a second run takes a second.
#   build/deps.sh test|run|bench|desktop|security
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-run}
apt_pkgs=()

need_cmd() { # need_cmd COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || apt_pkgs+=("$2")
}
need_file() { # need_file PATH PACKAGE
  [ -e "$1" ] || apt_pkgs+=("$2")
}

pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    return 0
  fi
  ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

case "$target" in
  run|test|bench|security|desktop) ;;
  *) echo "usage: build/deps.sh test|run|bench|desktop|security" >&2; exit 2 ;;
esac

pg_bindir || apt_pkgs+=(postgresql)
need_cmd redis-server redis-server
case "$target" in
  test|bench)
    need_cmd wat2wasm wabt
    need_cmd xmllint libxml2-utils
    need_cmd rsync rsync               # deploy targets (server/export)
    ;;
esac
case "$target" in
  test)
    need_cmd java default-jre-headless # the Nu HTML checker (build/browser)
    need_cmd chromium chromium         # axe-core and the XSS run (build/browser)
    ;;
esac
case "$target" in
  bench)
    need_cmd wrk wrk
    need_cmd nginx nginx-light
    need_cmd hugo hugo                 # build/bench-export.sh compares with Hugo
    ;;
  security)
    need_cmd sqlmap sqlmap
    ;;
esac
case "$target" in
  desktop|test)
    # The desktop app (make desktop) and its window test under Xvfb.
    need_cmd pkg-config pkg-config
    need_file /usr/include/gtk-3.0/gtk/gtk.h libgtk-3-dev
    need_file /usr/lib/x86_64-linux-gnu/pkgconfig/webkit2gtk-4.1.pc libwebkit2gtk-4.1-dev
    need_cmd Xvfb xvfb
    need_cmd xdotool xdotool
    need_file /usr/bin/convert imagemagick
    ;;
esac

if [ ${#apt_pkgs[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "deps: installing ${apt_pkgs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi

# Go modules of the main module and of every plugin module.
go mod download
for mod in plugins/*/go.mod plugins/testplugins/*/go.mod; do
  [ -e "$mod" ] || continue
  (cd "$(dirname "$mod")" && go mod download)
done

# npm packages of the editor frontend.
if [ -f frontend/package-lock.json ]; then
  if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

# npm packages of the browser checks (playwright-core, axe-core, vnu-jar).
if [ "$target" = test ] && [ -f build/browser/package-lock.json ]; then
  if [ ! -d build/browser/node_modules ] || [ build/browser/package-lock.json -nt build/browser/node_modules/.package-lock.json ]; then
    (cd build/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
