# Sourced by scripts/cluster and the tests: a PostgreSQL cluster of our own in
# a directory, reachable only through a Unix socket in it (no TCP port).
# The socket's directory is the postgres user's, mode 0700: root (the farm)
# and postgres reach it; build uids and other local users do not.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

pg_as() {  # pg_as CMD ARGS...: PostgreSQL refuses to run as root
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {  # pg_start DIR: creates (first time) and starts; prints nothing
  local dir=$1
  [[ -x $PG_BIN/initdb ]] || { echo "postgres: no PostgreSQL server found (apt-get install postgresql)" >&2; return 1; }
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; fi
  chmod 0700 "$dir"
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    pg_as "$PG_BIN/initdb" -D "$dir/data" -U cifs -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
      { echo "postgres: initdb failed; see $dir/initdb.log" >&2; return 1; }
    mkdir -p "$dir/run"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir/run"; fi
    chmod 0700 "$dir/run"
  fi
  pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
    -o "-c listen_addresses='' -k $dir/run -c max_connections=200" start >/dev/null ||
    { echo "postgres: cannot start; the end of $dir/postgres.log:" >&2; tail -n 5 "$dir/postgres.log" >&2; return 1; }
}

pg_stop() {  # pg_stop DIR [MODE]: fast by default; immediate is a crash
  local dir=$1 mode=${2:-fast}
  [[ -f $dir/data/postmaster.pid ]] || return 0
  pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 30 stop >/dev/null 2>&1 || true
}

pg_uri() {  # pg_uri DIR: the URI farmservers are given
  echo "postgresql:///postgres?host=$1/run&user=cifs"
}
