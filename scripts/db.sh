#!/usr/bin/env bash
# Local MariaDB + PostgreSQL 15 for development, tests, the demo and benchmarks.
# Usage: scripts/db.sh start|stop|status|ensure (ensure: start unless MYSQL_URL/PG_URL are set)
# Servers listen on 127.0.0.1 only; data lives in .dbdata/ (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/.dbdata"
MY_PORT="${DUALWRITE_MYSQL_PORT:-3307}"
PG_PORT="${DUALWRITE_PG_PORT:-5433}"
PASSWORD="dualwrite"
DB_NAME="dualwrite"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { printf '[db] %s\n' "$*"; }
die() { printf '[db] error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = "0" ]; }

find_mariadbd() {
  for c in mariadbd mysqld /usr/sbin/mariadbd /usr/sbin/mysqld; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
  done
  return 1
}

have_binaries() { find_mariadbd >/dev/null && [ -x "$PG_BIN/postgres" ]; }

docker_usable() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

install_missing() {
  local pkgs=()
  find_mariadbd >/dev/null || pkgs+=(mariadb-server mariadb-client)
  [ -x "$PG_BIN/postgres" ] || pkgs+=(postgresql-15)
  [ ${#pkgs[@]} -eq 0 ] && return 0
  if docker_usable; then return 0; fi
  if is_root && command -v apt-get >/dev/null 2>&1; then
    log "installing ${pkgs[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    # The Debian packages start their own system-wide servers; ours run separately.
    (service mariadb stop || service postgresql stop || true) >/dev/null 2>&1 || true
  else
    die "missing ${pkgs[*]}: install them (Debian: sudo apt-get install ${pkgs[*]}) or run a Docker engine for docker-compose.yml"
  fi
}

# ---------- MariaDB ----------
MY_DIR="$DATA/mariadb"
MY_SOCK="$MY_DIR/mysqld.sock"
MY_PID="$MY_DIR/mysqld.pid"

mariadb_client() { command -v mariadb || command -v mysql; }
mariadb_install_db() { command -v mariadb-install-db || command -v mysql_install_db; }
mariadb_running() { [ -f "$MY_PID" ] && kill -0 "$(cat "$MY_PID")" 2>/dev/null; }

mariadb_reachable() {
  "$(mariadb_client)" --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot -p"$PASSWORD" -e 'SELECT 1' >/dev/null 2>&1
}

start_mariadb() {
  if mariadb_running; then log "mariadb already running on 127.0.0.1:$MY_PORT (pid $(cat "$MY_PID"))"; return 0; fi
  # A server started elsewhere (another checkout, a service) already answers on our port: use it.
  if mariadb_reachable; then log "mariadb already reachable on 127.0.0.1:$MY_PORT (not started here)"; return 0; fi
  local user_args=()
  is_root && user_args=(--user=mysql)
  mkdir -p "$MY_DIR"
  if [ ! -d "$MY_DIR/data/mysql" ]; then
    log "initialising mariadb data directory"
    mkdir -p "$MY_DIR/data"
    is_root && chown -R mysql:mysql "$MY_DIR"
    "$(mariadb_install_db)" --no-defaults "${user_args[@]}" --datadir="$MY_DIR/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$MY_DIR/install.log" 2>&1 \
      || { cat "$MY_DIR/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  is_root && chown -R mysql:mysql "$MY_DIR"
  setsid "$(find_mariadbd)" --no-defaults "${user_args[@]}" --datadir="$MY_DIR/data" \
    --port="$MY_PORT" --bind-address=127.0.0.1 --socket="$MY_SOCK" --pid-file="$MY_PID" \
    --log-error="$MY_DIR/error.log" --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --max-connections=600 --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=512M \
    --max-allowed-packet=256M --skip-log-bin \
    </dev/null >/dev/null 2>&1 &
  local client; client="$(mariadb_client)"
  for _ in $(seq 1 120); do
    if "$client" --no-defaults -S "$MY_SOCK" -uroot -p"$PASSWORD" -e 'SELECT 1' >/dev/null 2>&1; then break; fi
    if "$client" --no-defaults -S "$MY_SOCK" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
      "$client" --no-defaults -S "$MY_SOCK" -uroot -e "
        ALTER USER 'root'@'localhost' IDENTIFIED BY '$PASSWORD';
        CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
        ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
        FLUSH PRIVILEGES;"
      break
    fi
    sleep 0.5
  done
  "$client" --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot -p"$PASSWORD" \
    -e "CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4" >/dev/null 2>&1 \
    || { tail -20 "$MY_DIR/error.log" >&2 || true; die "mariadb did not come up on 127.0.0.1:$MY_PORT"; }
  log "mariadb started on 127.0.0.1:$MY_PORT (pid $(cat "$MY_PID"))"
}

stop_mariadb() {
  if ! mariadb_running; then log "mariadb not running"; return 0; fi
  local pid; pid="$(cat "$MY_PID")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$MY_PID"
  log "mariadb stopped"
}

# ---------- PostgreSQL ----------
# PostgreSQL refuses to run as root, so as root it runs as the postgres user. When that user
# cannot reach a folder inside the repo, the data directory goes to a temp folder instead.
pg_dir() {
  if [ -f "$DATA/pg.path" ]; then cat "$DATA/pg.path"; return; fi
  local dir="$DATA/postgres"
  if is_root; then
    mkdir -p "$DATA"
    chmod 755 "$DATA"
    if ! runuser -u postgres -- test -x "$DATA"; then dir="$(mktemp -d /tmp/dualwrite-pg.XXXXXX)"; fi
  fi
  mkdir -p "$DATA"
  echo "$dir" >"$DATA/pg.path"
  echo "$dir"
}

as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_running() {
  local dir; dir="$(pg_dir)"
  [ -f "$dir/data/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

start_postgres() {
  local dir; dir="$(pg_dir)"
  if pg_running; then log "postgres already running on 127.0.0.1:$PG_PORT"; return 0; fi
  if PGPASSWORD="$PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
    log "postgres already reachable on 127.0.0.1:$PG_PORT (not started here)"; return 0
  fi
  mkdir -p "$dir"
  is_root && chown postgres:postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "initialising postgres data directory"
    local pw="$dir/pwfile"
    echo "$PASSWORD" >"$pw"
    is_root && chown postgres:postgres "$pw"
    as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --pwfile="$pw" --auth=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pw"
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $dir -c listen_addresses=127.0.0.1 -c max_connections=600 -c synchronous_commit=off -c shared_buffers=256MB" \
    start >/dev/null || { tail -20 "$dir/server.log" >&2 || true; die "postgres did not start"; }
  if ! PGPASSWORD="$PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'" | grep -q 1; then
    PGPASSWORD="$PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE $DB_NAME" >/dev/null
  fi
  log "postgres started on 127.0.0.1:$PG_PORT (data $dir/data)"
}

stop_postgres() {
  local dir; dir="$(pg_dir)"
  if ! pg_running; then log "postgres not running"; return 0; fi
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  log "postgres stopped"
}

status() {
  if mariadb_running; then log "mariadb: running on 127.0.0.1:$MY_PORT (pid $(cat "$MY_PID"))"; else log "mariadb: stopped"; fi
  if pg_running; then log "postgres: running on 127.0.0.1:$PG_PORT"; else log "postgres: stopped"; fi
  log "MYSQL_URL=mysql://root:$PASSWORD@127.0.0.1:$MY_PORT/$DB_NAME"
  log "PG_URL=postgres://postgres:$PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME"
}

use_docker() { ! have_binaries && docker_usable; }

case "${1:-}" in
  start)
    install_missing
    if use_docker; then
      log "server binaries not found; using docker compose"
      (cd "$ROOT" && docker compose up -d --wait)
    else
      have_binaries || die "mariadbd or $PG_BIN/postgres not found"
      start_mariadb
      start_postgres
    fi
    status
    ;;
  stop)
    if use_docker; then (cd "$ROOT" && docker compose down); else stop_mariadb; stop_postgres; fi
    ;;
  ensure)
    # Before `npm test`: start the local servers unless the environment points at other ones.
    if [ -n "${MYSQL_URL:-}" ] || [ -n "${PG_URL:-}" ]; then
      log "MYSQL_URL/PG_URL set: using those servers"
    else
      "$0" start
    fi
    ;;
  status) status ;;
  *) die "usage: scripts/db.sh start|stop|status|ensure" ;;
esac
