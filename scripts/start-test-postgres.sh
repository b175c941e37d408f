#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the test suite and print its URL.
# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
# Usage: eval "$(scripts/start-test-postgres.sh)"   -> exports SURVEY_API_TEST_POSTGRES_URL
set -euo pipefail
port="${PGPORT_TEST:-54329}"
datadir="${PGDATA_TEST:-/tmp/survey-api-pg-$port}"
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
if ! "${as_pg[@]}" "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
  rm -rf "$datadir"; mkdir -p "$datadir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$datadir"
  "${as_pg[@]}" "$bindir/initdb" -D "$datadir" -U postgres -A trust -E UTF8 >/dev/null
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp -c fsync=off -c max_connections=200" start >/dev/null
fi
echo "export SURVEY_API_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/postgres"
