#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer, for the test suite's
# PostgreSQL run. Idempotent: starts them when installed but stopped, installs them from Debian's
# packages when absent (needs root), and exits non-zero when they still do not answer.
set -uo pipefail

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3 | grep -q PONG) 2>/dev/null; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "ensure-services: need root to install $*" >&2; return 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "ensure-services: installing PostgreSQL"
    apt_install postgresql || true
  fi
  for v in $(ls /etc/postgresql 2>/dev/null); do
    # Trust auth on loopback, as on the project's machines (tests create throwaway databases).
    hba="/etc/postgresql/$v/main/pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q "stun-ci" "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust # stun-ci\nlocal all all trust # stun-ci' "$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi

if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    echo "ensure-services: installing Redis"
    apt_install redis-server || true
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi

ok=0
pg_up && echo "ensure-services: PostgreSQL answers on 127.0.0.1:5432" || { echo "ensure-services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; ok=1; }
redis_up && echo "ensure-services: Redis answers on 127.0.0.1:6379" || { echo "ensure-services: Redis is not reachable on 127.0.0.1:6379" >&2; ok=1; }
exit $ok
