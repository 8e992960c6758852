#!/usr/bin/env bash
# For CI: a throw-away PostgreSQL cluster on loopback so the gradebook tests also run against
# PostgreSQL. Prints the SQLAlchemy URL to use as INTRO2AI_TEST_PG_URL; prints nothing (and exits
# 0) where PostgreSQL cannot be installed or started, and those tests then skip with a reason.
set -uo pipefail
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')  # a free one: a cluster of an earlier run may still hold another
root=$(mktemp -d /tmp/autograder-pg.XXXXXX)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1 || exit 0
  else
    exit 0
  fi
fi
bin=$(dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
python3 -m pip install --quiet --disable-pip-version-check 'psycopg[binary]' >/dev/null 2>&1 || exit 0
chown -R nobody "$root" 2>/dev/null
as_db() { if [ "$(id -u)" = "0" ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi; }
as_db "$bin/initdb" -D "$root/data" -A trust -U postgres >/dev/null 2>&1 || exit 0
as_db "$bin/pg_ctl" -D "$root/data" -o "-p $port -k $root -c listen_addresses=127.0.0.1" -l "$root/log" -w start >/dev/null 2>&1 || exit 0
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
