#!/bin/sh
# Entrypoint of the test postgres image (written for stack's tests; it does what the official
# image's entrypoint does for POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, PGDATA and
# POSTGRES_INITDB_ARGS): as root it makes PGDATA and /run/postgresql the postgres user's and
# re-executes itself as that user (setpriv, as the official image uses gosu); as postgres, when
# PGDATA has no cluster yet it runs initdb (password auth for TCP from anywhere,
# listen_addresses='*'), creates POSTGRES_DB, then execs the command (postgres).
set -eu

# `docker run image -c x=y`: flags go to postgres.
if [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
  chmod 3777 /run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_USER:=postgres}"
  : "${POSTGRES_DB:=$POSTGRES_USER}"
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres entrypoint: the database is uninitialized and POSTGRES_PASSWORD is not set; set it (e.g. POSTGRES_PASSWORD=secret)" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  printf '\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # A server on the unix socket only, to create the database, then stopped.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k /run/postgresql" -w -s start
    # psql interpolates :"db" (quoted as an identifier) in its input, not in -c.
    echo 'CREATE DATABASE :"db";' | psql -v ON_ERROR_STOP=1 -q -h /run/postgresql \
      --username="$POSTGRES_USER" --dbname=postgres --set=db="$POSTGRES_DB"
    pg_ctl -D "$PGDATA" -m fast -w -s stop
  fi
  echo "postgres entrypoint: initialized $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
fi

exec "$@"
