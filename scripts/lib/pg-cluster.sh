# Sourced by scripts/test and bench/run: find the PostgreSQL server binaries and start a throwaway cluster on a
# free loopback port, stopped and removed when the calling shell exits. Works as root (the cluster is owned and run
# by the postgres user) and as a normal user.
#
#   start_pg_cluster            sets PG_BIN, PG_PORT, PG_URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   pg_as_owner CMD ARGS...     runs a command as the cluster's owner

find_pg_bin() {
  PG_BIN=""
  for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    if [ -x "$dir/initdb" ]; then PG_BIN="$dir"; break; fi
  done
  if [ -z "$PG_BIN" ] && command -v initdb >/dev/null 2>&1; then PG_BIN="$(dirname "$(command -v initdb)")"; fi
  if [ -z "$PG_BIN" ]; then
    echo "PostgreSQL server binaries (initdb) not found; install postgresql-15 (.ci/run does)" >&2
    return 2
  fi
}

pg_as_owner() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

stop_pg_cluster() {
  if [ -n "${PG_DATA_DIR:-}" ]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DATA_DIR"
  fi
}

# Extra server settings may be passed as arguments (e.g. -c shared_buffers=256MB).
start_pg_cluster() {
  find_pg_bin || return 2
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
  fi
  PG_DATA_DIR="$(mktemp -d /tmp/vivr-pg.XXXXXX)"
  [ "$(id -u)" = "0" ] && chown postgres "$PG_DATA_DIR"
  trap stop_pg_cluster EXIT
  PG_PORT="$(free_port)"
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA_DIR/data" -l "$PG_DATA_DIR/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DATA_DIR -c listen_addresses=127.0.0.1 $*" start >/dev/null
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}
