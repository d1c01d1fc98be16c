#!/usr/bin/env bash
# build/security.sh: `make security`. Starts a private site on 127.0.0.1
# (its own data directory, embedded PostgreSQL, private Redis) with the
# lockouts and rate limits raised for the run, checks that every target
# answers its 2xx/3xx baseline with a fresh CSRF token, then runs Debian's
# sqlmap (--batch --level 3 --risk 2) against the sign-in, password reset,
# search and comment forms (search and comments when the site has them),
# and against the editor API with a bearer token: the item list with every
# query parameter (type, status, language, sort, limit) and an item
# created from a JSON body. Fails when sqlmap reports an injection point
# or a baseline fails.
#
#   SECURITY_PORT   port (default 18089)
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

# The API with a bearer token (no cookie, no CSRF): a list with every
# query parameter and a create from a JSON body, each answering 2xx first.
bearer=$("$work/trovato" token create --name security-scan --permission content.access --permission content.administer \
  --expires 2h 2>/dev/null | tail -n1)
[ -n "$bearer" ] || { echo "security: could not create an API token" >&2; exit 1; }
api="$base/api/v1"
apiq="type=article&status=published&language=en&sort=title&limit=5"
apistatus() { # apistatus METHOD PATH [JSON]
  if [ "$1" = POST ]; then
    curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $bearer" -H 'Content-Type: application/json' --data "$3" "$api$2"
  else
    curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $bearer" "$api$2"
  fi
}
want "api list" "$(apistatus GET "/items?$apiq")" 200
apibody='{"type":"article","title":"Security scan","status":"unpublished","language":"en","fields":{"body":"scan"}}'
want "api create" "$(apistatus POST /items "$apibody")" 201
targets+=(api-list api-create)

session=$(awk '$6 == "trovato_session" { print $7 }' "$jar" | tail -n1)
common=(--batch --level 3 --risk 2 --disable-coloring --flush-session
  --output-dir "$work/sqlmap" --cookie "trovato_session=$session" --ignore-code 400,401,403,429)
failed=0
for t in "${targets[@]}"; do
  case $t in
    login) args=(-u "$base/user/login" --data "csrf_token=x&name=someone&password=not+the+password+1&destination=%2F"
                 --csrf-token csrf_token --csrf-url "$base/user/login" -p name,password,destination) ;;
    reset) args=(-u "$base/user/password" --data "csrf_token=x&name=someone%40example.org"
                 --csrf-token csrf_token --csrf-url "$base/user/password" -p name) ;;
    search) args=(-u "$base/search?q=trovato" -p q) ;;
    comments) echo "security: comment form found; add its fields here" >&2; failed=1; continue ;;
    api-list) args=(-u "$api/items?$apiq" -p type,status,language,sort,limit
                    --headers "Authorization: Bearer $bearer") ;;
    api-create) args=(-u "$api/items" --data "$apibody" -p type,title,status,language
                      --headers "Authorization: Bearer $bearer
Content-Type: application/json") ;;
  esac
  echo "== sqlmap: $t"
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
    echo "$t: not injectable ($(grep -c 'testing ' "$work/sqlmap-$t.log") tests)"
  fi
done
[ "$failed" = 0 ] && echo "security: no injection found in ${targets[*]}"
exit "$failed"
