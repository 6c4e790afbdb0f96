#!/usr/bin/env bash
# Checks that PostgreSQL, Redis and NATS answer on their default ports and starts any that is down
# where this machine has it installed. Under CI=true a service that stays down fails the build.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  for _ in $(seq 1 50); do up "$1" && return 0; sleep 0.2; done
  return 1
}

start_postgres() {
  command -v pg_ctlcluster >/dev/null || return 1
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
}

start_redis() {
  command -v redis-server >/dev/null || return 1
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
}

start_nats() {
  local binary
  binary=$(command -v nats-server || true)
  [ -n "$binary" ] || binary=/usr/sbin/nats-server
  [ -x "$binary" ] || binary=".venv/bin/nats-server"
  [ -x "$binary" ] || return 1
  mkdir -p /tmp/emergence-nats
  nohup "$binary" -a 127.0.0.1 -p 4222 -js -sd /tmp/emergence-nats >/tmp/emergence-nats.log 2>&1 &
}

status=0
for entry in "PostgreSQL 5432 start_postgres" "Redis 6379 start_redis" "NATS 4222 start_nats"; do
  set -- $entry
  if up "$2"; then echo "services: $1 is up on port $2"; continue; fi
  echo "services: $1 is down on port $2; starting it"
  if $3 && wait_for "$2"; then
    echo "services: $1 started"
  else
    echo "services: $1 could not be started: tests that need it will fail under CI=true" >&2
    status=1
  fi
done
if [ "${CI:-}" = "true" ]; then exit $status; fi
exit 0
