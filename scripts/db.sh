#!/usr/bin/env bash
# Local servers for development, tests, the demo and benchmarks: a real MySQL, MariaDB and
# PostgreSQL 15, side by side.
# Usage: scripts/db.sh start|stop|status|ensure (ensure: start unless MYSQL_URL/PG_URL are set)
# Servers listen on 127.0.0.1 only; data lives in .dbdata/ (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/.dbdata"
MYSQL_PORT="${DUALWRITE_MYSQL_PORT:-3308}"
MARIADB_PORT="${DUALWRITE_MARIADB_PORT:-3307}"
PG_PORT="${DUALWRITE_PG_PORT:-5433}"
PASSWORD="dualwrite"
DB_NAME="dualwrite"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
# Debian's unstable suite packages MySQL (9.x); it needs a newer libc than Debian 12 has, so it runs
# from a small Debian root of that suite made with debootstrap.
MYSQL_SUITE="${DUALWRITE_MYSQL_SUITE:-sid}"

log() { printf '[db] %s\n' "$*"; }
die() { printf '[db] error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = "0" ]; }

find_mariadbd() {
  for c in mariadbd /usr/sbin/mariadbd; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
  done
  return 1
}

docker_usable() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

apt_install() {
  log "installing $* with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  # The Debian packages start their own system-wide servers; ours run separately.
  (service mariadb stop; service postgresql stop) >/dev/null 2>&1 || true
}

install_missing() {
  local pkgs=()
  find_mariadbd >/dev/null || pkgs+=(mariadb-server mariadb-client)
  [ -x "$PG_BIN/postgres" ] || pkgs+=(postgresql-15)
  is_root && ! command -v debootstrap >/dev/null 2>&1 && pkgs+=(debootstrap)
  [ ${#pkgs[@]} -eq 0 ] && return 0
  if is_root && command -v apt-get >/dev/null 2>&1; then
    apt_install "${pkgs[@]}"
  elif ! docker_usable; then
    die "missing ${pkgs[*]}: install them (Debian: sudo apt-get install ${pkgs[*]}) or run a Docker engine for docker-compose.yml"
  fi
}

# ---------- shared helpers for the two MySQL-side servers ----------
# wait_and_secure <client...>: waits for a fresh or running server, sets root's password for both
# localhost and 127.0.0.1 on first start, creates the default database.
secure_server() {
  local name="$1" port="$2" errlog="$3"; shift 3
  local client=("$@")
  for _ in $(seq 1 120); do
    if "${client[@]}" -uroot -p"$PASSWORD" -e 'SELECT 1' >/dev/null 2>&1; then break; fi
    if "${client[@]}" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
      "${client[@]}" -uroot -e "
        CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
        ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$PASSWORD';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
        ALTER USER 'root'@'localhost' IDENTIFIED BY '$PASSWORD';
        FLUSH PRIVILEGES;"
      break
    fi
    sleep 0.5
  done
  "${client[@]}" -uroot -p"$PASSWORD" \
    -e "CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4" >/dev/null 2>&1 \
    || { tail -20 "$errlog" >&2 || true; die "$name did not come up on 127.0.0.1:$port"; }
}

stop_pidfile() {
  local name="$1" pidfile="$2"
  if ! [ -f "$pidfile" ] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then log "$name not running"; return 0; fi
  local pid; pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  log "$name stopped"
}

reachable_tcp() { # reachable_tcp <port> <client...>
  local port="$1"; shift
  "$@" --no-defaults -h127.0.0.1 -P"$port" -uroot -p"$PASSWORD" -e 'SELECT 1' >/dev/null 2>&1
}

# ---------- MariaDB ----------
MARIADB_DIR="$DATA/mariadb"
MARIADB_SOCK="$MARIADB_DIR/mysqld.sock"
MARIADB_PID="$MARIADB_DIR/mysqld.pid"

mariadb_client() { command -v mariadb || command -v mysql; }
mariadb_running() { [ -f "$MARIADB_PID" ] && kill -0 "$(cat "$MARIADB_PID")" 2>/dev/null; }

start_mariadb() {
  if mariadb_running; then log "mariadb already running on 127.0.0.1:$MARIADB_PORT"; return 0; fi
  # A server started elsewhere (another checkout, a service) already answers on our port: use it.
  if reachable_tcp "$MARIADB_PORT" "$(mariadb_client)"; then log "mariadb already reachable on 127.0.0.1:$MARIADB_PORT (not started here)"; return 0; fi
  local user_args=()
  is_root && user_args=(--user=mysql)
  mkdir -p "$MARIADB_DIR"
  if [ ! -d "$MARIADB_DIR/data/mysql" ]; then
    log "initialising mariadb data directory"
    mkdir -p "$MARIADB_DIR/data"
    is_root && chown -R mysql:mysql "$MARIADB_DIR"
    mariadb-install-db --no-defaults "${user_args[@]}" --datadir="$MARIADB_DIR/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$MARIADB_DIR/install.log" 2>&1 \
      || { cat "$MARIADB_DIR/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  is_root && chown -R mysql:mysql "$MARIADB_DIR"
  setsid "$(find_mariadbd)" --no-defaults "${user_args[@]}" --datadir="$MARIADB_DIR/data" \
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --socket="$MARIADB_SOCK" --pid-file="$MARIADB_PID" \
    --log-error="$MARIADB_DIR/error.log" --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --max-connections=600 --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=512M \
    --max-allowed-packet=256M --skip-log-bin \
    </dev/null >/dev/null 2>&1 &
  secure_server mariadb "$MARIADB_PORT" "$MARIADB_DIR/error.log" "$(mariadb_client)" --no-defaults -S "$MARIADB_SOCK"
  log "mariadb started on 127.0.0.1:$MARIADB_PORT (pid $(cat "$MARIADB_PID"))"
}

# ---------- MySQL (Debian unstable's mysql-server-core, in a debootstrap root) ----------
MYSQL_DIR="$DATA/mysql"
MYSQL_ROOT="$MYSQL_DIR/root"
# Paths as the server sees them, inside the root.
MYSQL_VAR="/var/lib/dualwrite"
MYSQL_PID="$MYSQL_ROOT$MYSQL_VAR/mysqld.pid"

in_mysql_root() { chroot "$MYSQL_ROOT" "$@"; }
mysql_running() { [ -f "$MYSQL_PID" ] && kill -0 "$(cat "$MYSQL_PID")" 2>/dev/null; }

# The Debian mirror this machine's apt already uses.
debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)"
  fi
  [ -n "$uri" ] || die "no Debian mirror found in the apt sources; set DUALWRITE_DEBIAN_MIRROR"
  echo "$uri"
}

provision_mysql_root() {
  [ -x "$MYSQL_ROOT/usr/sbin/mysqld" ] && return 0
  is_root || die "a real MySQL needs root here (a debootstrap root and chroot), or a Docker engine for docker-compose.yml"
  local mirror="${DUALWRITE_DEBIAN_MIRROR:-$(debian_mirror)}"
  log "provisioning MySQL from Debian $MYSQL_SUITE (debootstrap, about 650 MB, once)"
  rm -rf "$MYSQL_ROOT.partial"
  mkdir -p "$MYSQL_DIR"
  debootstrap --variant=minbase --include=mysql-server-core,mysql-client-core \
    "$MYSQL_SUITE" "$MYSQL_ROOT.partial" "$mirror" >"$MYSQL_DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$MYSQL_DIR/debootstrap.log" >&2; die "debootstrap of MySQL failed (log: .dbdata/mysql/debootstrap.log)"; }
  chroot "$MYSQL_ROOT.partial" sh -c 'getent group mysql >/dev/null || groupadd -r mysql; getent passwd mysql >/dev/null || useradd -r -g mysql -d /nonexistent -s /usr/sbin/nologin mysql'
  mv "$MYSQL_ROOT.partial" "$MYSQL_ROOT"
}

start_mysql() {
  if mysql_running; then log "mysql already running on 127.0.0.1:$MYSQL_PORT"; return 0; fi
  if [ -x "$MYSQL_ROOT/usr/bin/mysql" ] && reachable_tcp "$MYSQL_PORT" in_mysql_root mysql; then
    log "mysql already reachable on 127.0.0.1:$MYSQL_PORT (not started here)"; return 0
  fi
  provision_mysql_root
  mkdir -p "$MYSQL_ROOT$MYSQL_VAR"
  in_mysql_root chown -R mysql:mysql "$MYSQL_VAR"
  if [ ! -d "$MYSQL_ROOT$MYSQL_VAR/data/mysql" ]; then
    log "initialising mysql data directory"
    rm -rf "$MYSQL_ROOT$MYSQL_VAR/data"
    in_mysql_root /usr/sbin/mysqld --no-defaults --initialize-insecure --user=mysql \
      --datadir="$MYSQL_VAR/data" --log-error="$MYSQL_VAR/init.log" \
      || { cat "$MYSQL_ROOT$MYSQL_VAR/init.log" >&2; die "mysqld --initialize failed"; }
  fi
  # Production-like: binary log on, GTID enforcement on, the server's default sql_mode,
  # caching_sha2_password; durability relaxed as on the other local servers.
  setsid chroot "$MYSQL_ROOT" /usr/sbin/mysqld --no-defaults --user=mysql --datadir="$MYSQL_VAR/data" \
    --port="$MYSQL_PORT" --bind-address=127.0.0.1 --socket="$MYSQL_VAR/mysqld.sock" \
    --pid-file="$MYSQL_VAR/mysqld.pid" --log-error="$MYSQL_VAR/error.log" --mysqlx=OFF \
    --secure-file-priv="" --skip-name-resolve --gtid-mode=ON --enforce-gtid-consistency=ON \
    --max-connections=600 --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
    --innodb-buffer-pool-size=512M --max-allowed-packet=256M --binlog-expire-logs-seconds=3600 \
    </dev/null >/dev/null 2>&1 &
  secure_server mysql "$MYSQL_PORT" "$MYSQL_ROOT$MYSQL_VAR/error.log" in_mysql_root mysql --no-defaults -S "$MYSQL_VAR/mysqld.sock"
  log "mysql $(in_mysql_root /usr/sbin/mysqld --version | awk '{print $3}') started on 127.0.0.1:$MYSQL_PORT (pid $(cat "$MYSQL_PID"))"
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
  if mysql_running; then log "mysql: running on 127.0.0.1:$MYSQL_PORT"; else log "mysql: stopped"; fi
  if mariadb_running; then log "mariadb: running on 127.0.0.1:$MARIADB_PORT"; else log "mariadb: stopped"; fi
  if pg_running; then log "postgres: running on 127.0.0.1:$PG_PORT"; else log "postgres: stopped"; fi
  log "MYSQL_URL=mysql://root:$PASSWORD@127.0.0.1:$MYSQL_PORT/$DB_NAME (MySQL)"
  log "MYSQL_URL=mysql://root:$PASSWORD@127.0.0.1:$MARIADB_PORT/$DB_NAME (MariaDB)"
  log "PG_URL=postgres://postgres:$PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME"
}

# Docker is the fallback where the servers cannot be provisioned here (not root, no packages).
use_docker() {
  docker_usable || return 1
  ! is_root || ! command -v apt-get >/dev/null 2>&1
}

case "${1:-}" in
  start)
    if use_docker; then
      log "using docker compose (docker-compose.yml)"
      (cd "$ROOT" && docker compose up -d --wait)
    else
      install_missing
      find_mariadbd >/dev/null || die "mariadbd not found"
      [ -x "$PG_BIN/postgres" ] || die "$PG_BIN/postgres not found"
      start_mysql
      start_mariadb
      start_postgres
    fi
    status
    ;;
  stop)
    if use_docker; then (cd "$ROOT" && docker compose down); else
      stop_pidfile mysql "$MYSQL_PID"
      stop_pidfile mariadb "$MARIADB_PID"
      stop_postgres
    fi
    ;;
  ensure)
    # Before `npm test`: what the tests need besides the servers (Chromium for the report test),
    # then the local servers unless the environment points at other ones.
    if ! command -v chromium >/dev/null 2>&1 && ! [ -x /usr/bin/chromium ]; then
      if is_root && command -v apt-get >/dev/null 2>&1; then apt_install chromium
      else die "the report test needs Chromium at /usr/bin/chromium (Debian: sudo apt-get install chromium)"; fi
    fi
    if [ -n "${MYSQL_URL:-}" ] || [ -n "${PG_URL:-}" ]; then
      log "MYSQL_URL/PG_URL set: using those servers"
    else
      "$0" start
    fi
    ;;
  status) status ;;
  *) die "usage: scripts/db.sh start|stop|status|ensure" ;;
esac
