#!/usr/bin/env bash
# Makes sure the PostgreSQL the tests use answers on 127.0.0.1:5432 with a database `test`
# that the `postgres` user reaches without a password (trust auth, as on this project's
# machines). Starts the local server if it is installed but stopped; installs Debian's
# `postgresql` package if it is missing. Does nothing when the server already answers.
set -euo pipefail
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! ready; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "ensure-postgres: installing Debian's postgresql"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  echo "ensure-postgres: starting PostgreSQL"
  $sudo service postgresql start >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
ready || { echo "ensure-postgres: PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d test -qtAc 'select 1' >/dev/null 2>&1; then
  echo "ensure-postgres: PostgreSQL answers, but not as user postgres on database test without a password;" >&2
  echo "  set TANDEM_TEST_PG=postgres://user:password@host:5432/db for the tests" >&2
  [ -n "${TANDEM_TEST_PG:-}" ] || exit 1
fi
