#!/usr/bin/env bash
# A private PostgreSQL cluster for seeing where the bench's statements spend PostgreSQL's time,
# without touching the machine's own server: `pg_stat_statements` needs `shared_preload_libraries`,
# which only a restart loads. It runs beside the machine's cluster (same binaries, its own data
# directory and port), and the benches use it through DATABASE_URL (they create and drop their own
# database in it):
#
#   bench/support/pg-stats-cluster.sh start        # initdb once, then start; prints the DATABASE_URL
#   bench/support/pg-stats-cluster.sh reset        # forget the statements counted so far
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5433/postgres npx tsx bench/throughput.ts --db postgres ...
#   bench/support/pg-stats-cluster.sh top [N]      # the N statements with the most execution time
#   bench/support/pg-stats-cluster.sh stop
#
# PG_STATS_EXPLAIN_MS=2 at `start` also logs the plan (with buffers) of every statement slower than
# that to $PG_STATS_DIR/log (auto_explain, a third of them sampled). docs/BENCHMARKS.md, twenty-first
# round, is what it was made for.
set -euo pipefail
DIR=${PG_STATS_DIR:-/tmp/stun-pg-stats}
PORT=${PG_STATS_PORT:-5433}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "no PostgreSQL binaries under /usr/lib/postgresql" >&2; exit 1; }
URL="postgresql://postgres@127.0.0.1:$PORT/postgres"

# PostgreSQL refuses to run as root: the cluster belongs to the postgres user then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi
}
psql_() { PGOPTIONS='-c client_min_messages=warning' psql "$URL" -X -v ON_ERROR_STOP=1 "$@"; }

case "${1:-}" in
  start)
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      mkdir -p "$DIR"
      [ "$(id -u)" = 0 ] && chown postgres "$DIR"
      as_owner "'$BIN/initdb' -D '$DIR/data' -A trust -U postgres" > "$DIR/initdb.log"
      {
        echo "port = $PORT"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$DIR'"
        echo "shared_preload_libraries = 'pg_stat_statements'"
        echo "pg_stat_statements.track = all"
        echo "log_line_prefix = '%m [%p] '"
        echo "include_if_exists = 'explain.conf'"
      } >> "$DIR/data/postgresql.conf"
    fi
    # Each start says afresh whether plans are logged (new sessions read it after the reload).
    if [ -n "${PG_STATS_EXPLAIN_MS:-}" ]; then
      {
        echo "session_preload_libraries = 'auto_explain'"
        echo "auto_explain.log_min_duration = '${PG_STATS_EXPLAIN_MS}ms'"
        echo "auto_explain.log_analyze = on"
        echo "auto_explain.log_buffers = on"
        echo "auto_explain.sample_rate = 0.3"
      } > "$DIR/data/explain.conf"
    else
      : > "$DIR/data/explain.conf"
    fi
    if as_owner "'$BIN/pg_ctl' -D '$DIR/data' -w status" > /dev/null 2>&1; then
      as_owner "'$BIN/pg_ctl' -D '$DIR/data' reload" > /dev/null
    else
      as_owner "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/log' -w start" > /dev/null
    fi
    psql_ -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" > /dev/null
    echo "DATABASE_URL=$URL"
    ;;
  reset)
    psql_ -qAtc "SELECT pg_stat_statements_reset()" > /dev/null
    ;;
  top)
    psql_ -c "
      SELECT calls, round(total_exec_time::numeric, 0) AS exec_ms, round((total_exec_time / calls)::numeric, 3) AS ms_per_call,
             shared_blks_hit / calls AS buffers_per_call, rows / calls AS rows_per_call,
             left(regexp_replace(query, '\s+', ' ', 'g'), 140) AS statement
      FROM pg_stat_statements WHERE calls > 0 AND query NOT LIKE '%pg_stat_statements%'
      ORDER BY total_exec_time DESC LIMIT ${2:-20}"
    ;;
  stop)
    as_owner "'$BIN/pg_ctl' -D '$DIR/data' -w stop" > /dev/null
    ;;
  *)
    echo "usage: $0 start|reset|top [N]|stop" >&2
    exit 2
    ;;
esac
