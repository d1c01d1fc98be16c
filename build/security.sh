#!/usr/bin/env bash
# build/security.sh: `make security`. Starts a private site on 127.0.0.1
# (its own data directory, embedded PostgreSQL, private Redis) with the
# lockouts and rate limits raised for the run, checks that every target
# answers its 2xx/3xx baseline, then runs Debian's sqlmap (--batch
# --level 3 --risk 2, PostgreSQL payloads) against the sign-in, password
# reset and search forms (a fresh CSRF token per request; comments when a
# comment form appears) and against the editor API: signed in through the
# form with a cookie session of its own and its CSRF token in X-CSRF-Token
# (item list and create, users, files, audit, aliases, tile preview), and
# with a bearer token (item list and create). Fails when sqlmap reports an
# injection point, does not finish, or a baseline fails before or after a
# scan.
#
#   SECURITY_PORT   port (default 18089)
#   SECURITY_TARGETS only the sqlmap targets matching these shell patterns
#                   (e.g. 'api-*'); every baseline is still checked
#   SECURITY_KEEP=1 keep the work directory (logs, sqlmap output)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v sqlmap >/dev/null || { echo "security: sqlmap is missing (build/deps.sh security installs it)" >&2; exit 1; }
port=${SECURITY_PORT:-18089}
base="http://127.0.0.1:$port"
work=$(mktemp -d -t trovato-security.XXXXXX)
chmod 755 "$work" # the embedded PostgreSQL runs as another user when we are root
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  if [ "${SECURITY_KEEP:-}" = 1 ]; then echo "security: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

go build -o "$work/trovato" ./server/cmd/trovato
export TROVATO_DATA_DIR="$work/data"
# Raised for the run: sqlmap sends thousands of failed sign-ins from one
# address; the defaults would lock the account and answer 429.
export TROVATO_LOGIN_LOCKOUT=1000000/1s TROVATO_ADDRESS_LOCKOUT=1000000/1s
export TROVATO_RATE_LIMITS=login=off,reset=off,form=off,page=off,island=off,api=off
unset DATABASE_URL REDIS_URL TROVATO_DATABASE_URL TROVATO_REDIS_URL

password="security scan passphrase $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
"$work/trovato" run --addr "127.0.0.1:$port" >"$work/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/run.log" >&2; echo "security: the site did not start" >&2; exit 1; }
  sleep 1
done
curl -fsS "$base/readyz" >/dev/null || { cat "$work/run.log" >&2; exit 1; }
printf '%s\n' "$password" | "$work/trovato" account set-password admin >/dev/null

jar="$work/cookies"
# csrf PATH: a fresh CSRF token of the form at PATH (in the jar's session).
csrf() { curl -fsS -b "$jar" -c "$jar" "$base$1" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1; }
# status METHOD PATH [DATA]: the response status.
status() {
  if [ "$1" = POST ]; then
    curl -sS -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" --data "$3" "$base$2"
  else
    curl -sS -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" "$base$2"
  fi
}
want() { # want LABEL GOT EXPECTED...
  local label=$1 got=$2; shift 2
  for w in "$@"; do [ "$got" = "$w" ] && { echo "baseline $label: $got"; return 0; }; done
  echo "security: baseline $label answered $got, want $*" >&2; exit 1
}

# Baselines: sign in for real (CSRF passed), then the forms sqlmap gets.
tok=$(csrf /user/login)
[ -n "$tok" ] || { echo "security: no CSRF token on /user/login" >&2; exit 1; }
want "sign-in" "$(status POST /user/login "csrf_token=$tok&name=admin&password=$(printf '%s' "$password" | sed 's/ /+/g')&destination=/")" 303
curl -fsS -b "$jar" "$base/_island/user-menu" | grep -q "Signed in as admin" || { echo "security: not signed in" >&2; exit 1; }
want "page" "$(status GET /)" 200
want "sign-in form" "$(status GET /user/login)" 200
want "reset request" "$(status POST /user/password "csrf_token=$(csrf /user/password)&name=nobody%40example.org")" 200
targets=(login reset)
if [ "$(status GET '/search?q=trovato')" = 200 ]; then targets+=(search); else echo "baseline search: no search page, skipped"; fi
if curl -fsS -b "$jar" "$base/" | grep -q 'name="comment'; then targets+=(comments); else echo "baseline comments: no comment form, skipped"; fi

# The API. Signed in with a cookie session of its own (a second sign-in
# through the form, so the form scans above cannot end it), the CSRF token
# read from GET /api/v1/session and sent as X-CSRF-Token on every request;
# and with a bearer token (no cookie, no CSRF). Each target answers its
# 2xx baseline first and again after its scan (a session or token that
# stopped working mid-scan would make "not injectable" vacuous: sqlmap
# ignores 400/401/403/429).
api="$base/api/v1"
ajar="$work/api-cookies"
atok=$(curl -fsS -b "$ajar" -c "$ajar" "$base/user/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
want "api sign-in" "$(curl -sS -o /dev/null -w '%{http_code}' -b "$ajar" -c "$ajar" \
  --data "csrf_token=$atok&name=admin&password=$(printf '%s' "$password" | sed 's/ /+/g')&destination=/" "$base/user/login")" 303
asession=$(awk '$6 == "trovato_session" { print $7 }' "$ajar" | tail -n1)
[ -n "$asession" ] && [ "$asession" != "$(awk '$6 == "trovato_session" { print $7 }' "$jar" | tail -n1)" ] ||
  { echo "security: the API sign-in made no session of its own" >&2; exit 1; }
apicsrf=$(curl -fsS -b "trovato_session=$asession" "$api/session" | sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p')
[ -n "$apicsrf" ] || { echo "security: GET /api/v1/session gave no CSRF token" >&2; exit 1; }
bearer=$("$work/trovato" token create --name security-scan --permission content.access --permission content.administer \
  --permission stage.view_any --permission stage.edit_any --expires 2h 2>/dev/null | tail -n1)
[ -n "$bearer" ] || { echo "security: could not create an API token" >&2; exit 1; }

# apicall AUTH METHOD PATH [JSON]: the status. AUTH: cookie (session and
# CSRF header), nocsrf (session only), bearer, anon.
apicall() {
  local h=()
  case $1 in
    cookie) h=(-b "trovato_session=$asession" -H "X-CSRF-Token: $apicsrf") ;;
    nocsrf) h=(-b "trovato_session=$asession") ;;
    bearer) h=(-H "Authorization: Bearer $bearer") ;;
    anon) h=(-H "X-Anonymous: 1") ;;
  esac
  [ -n "${4:-}" ] && h+=(-H 'Content-Type: application/json' --data "$4")
  curl -sS -o /dev/null -w '%{http_code}' -X "$2" "${h[@]}" "$api$3"
}
# A stage to scan in (stage= then reaches the stage lookup), made through
# the API with the session.
want "api create stage (cookie, CSRF)" "$(apicall cookie POST /stages '{"name":"scan","label":"Scan"}')" 201
# The checks sqlmap's requests rely on: the session is what authenticates
# (anonymous is 401), and the CSRF header is what lets a write through.
want "api anonymous" "$(apicall anon GET /items)" 401
want "api write without CSRF header" "$(apicall nocsrf POST /items '{"type":"article","title":"x"}')" 403

apiq="stage=scan&type=article&status=published&language=en&sort=title&limit=5"
itembody='{"type":"article","title":"Security scan","status":"unpublished","language":"en","fields":{"body":"scan"}}'
tilebody='{"tile":{"kind":"tile","name":"scan","label":"Scan","region":"sidebar","content":{"text":{"format":"markdown","body":"Scan text"}}},"path":"/"}'
# NAME|AUTH|METHOD|PATH|JSON|PARAMETERS|BASELINE
apitargets=(
  "api-items|cookie|GET|/items?$apiq||stage,type,status,language,sort,limit|200"
  "api-create|cookie|POST|/items?stage=scan|$itembody|type,title,status,language|201"
  "api-users|cookie|GET|/users?name=admin&status=active&role=administrator||name,status,role|200"
  "api-files|cookie|GET|/files?name=scan&type=image%2F||name,type|200"
  "api-audit|cookie|GET|/audit?action=stage.publish&actor=admin&object=x||action,actor,object|200"
  "api-aliases|cookie|GET|/aliases?stage=scan&path=%2Fitem||stage,path|200"
  "api-tile-preview|cookie|POST|/tile-preview?stage=scan|$tilebody|stage,name,label,region,format,body,path|200"
  "api-items-bearer|bearer|GET|/items?$apiq||stage,type,status,language,sort,limit|200"
  "api-create-bearer|bearer|POST|/items|$itembody|type,title,status,language|201"
)
for spec in "${apitargets[@]}"; do
  IFS='|' read -r name auth method path json _ code <<<"$spec"
  want "$name ($auth)" "$(apicall "$auth" "$method" "$path" "$json")" "$code"
  targets+=("$name")
done

if [ -n "${SECURITY_TARGETS:-}" ]; then
  picked=()
  for t in "${targets[@]}"; do
    for pat in $SECURITY_TARGETS; do
      # shellcheck disable=SC2053 # a pattern on purpose
      [[ $t == $pat ]] && { picked+=("$t"); break; }
    done
  done
  targets=("${picked[@]}")
  [ "${#targets[@]}" -gt 0 ] || { echo "security: SECURITY_TARGETS matches no target" >&2; exit 1; }
fi

# The back end is PostgreSQL: payloads for other databases are skipped.
common=(--batch --level 3 --risk 2 --dbms PostgreSQL --disable-coloring --flush-session --output-dir "$work/sqlmap" --ignore-code 400,401,403,429)
session=$(awk '$6 == "trovato_session" { print $7 }' "$jar" | tail -n1)
failed=0
started=$(date +%s)
for t in "${targets[@]}"; do
  args=()
  case $t in
    login) args=(-u "$base/user/login" --data "csrf_token=x&name=someone&password=not+the+password+1&destination=%2F"
                 --cookie "trovato_session=$session" --csrf-token csrf_token --csrf-url "$base/user/login" -p name,password,destination) ;;
    reset) args=(-u "$base/user/password" --data "csrf_token=x&name=someone%40example.org"
                 --cookie "trovato_session=$session" --csrf-token csrf_token --csrf-url "$base/user/password" -p name) ;;
    search) args=(-u "$base/search?q=trovato" --cookie "trovato_session=$session" -p q) ;;
    comments) echo "security: comment form found; add its fields here" >&2; failed=1; continue ;;
    api-*)
      for spec in "${apitargets[@]}"; do
        IFS='|' read -r name auth method path json params code <<<"$spec"
        [ "$name" = "$t" ] && break
      done
      if [ "$auth" = cookie ]; then
        args=(--cookie "trovato_session=$asession" --headers "X-CSRF-Token: $apicsrf${json:+
Content-Type: application/json}")
      else
        args=(--headers "Authorization: Bearer $bearer${json:+
Content-Type: application/json}")
      fi
      args+=(-u "$api$path" -p "$params" --method "$method")
      [ -n "$json" ] && args+=(--data "$json")
      ;;
  esac
  echo "== sqlmap: $t"
  t0=$(date +%s)
  sqlmap "${common[@]}" "${args[@]}" >"$work/sqlmap-$t.log" 2>&1 || true
  if grep -Eq "identified the following injection point|is vulnerable" "$work/sqlmap-$t.log"; then
    echo "security: $t is injectable:" >&2
    grep -A12 "identified the following injection point" "$work/sqlmap-$t.log" >&2 || true
    failed=1
  elif ! grep -Eq "do not appear to be injectable|does not seem to be injectable" "$work/sqlmap-$t.log"; then
    echo "security: sqlmap did not finish testing $t:" >&2
    tail -n 20 "$work/sqlmap-$t.log" >&2
    failed=1
  else
    echo "$t: not injectable ($(grep -c "testing '" "$work/sqlmap-$t.log") tests, $(( $(date +%s) - t0 ))s)"
  fi
  case $t in
    api-*) # the session or token still works: the scan was not vacuous
      got=$(apicall "$auth" "$method" "$path" "$json")
      [ "$got" = "$code" ] || { echo "security: $t answered $got after its scan, want $code: the scan may have run unauthenticated" >&2; failed=1; } ;;
  esac
done
echo "security: sqlmap took $(( $(date +%s) - started ))s for ${#targets[@]} targets"
[ "$failed" = 0 ] && echo "security: no injection found in ${targets[*]}"
exit "$failed"
