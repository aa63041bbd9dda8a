#!/usr/bin/env bash
# Redis for Celery (issue 18, SPEC §9): install Debian's redis-server when it is
# missing, and start one when nothing listens on the port of CELERY_BROKER_URL
# (default redis://127.0.0.1:6379/0). A Redis that already runs is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[redis]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

url="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
hostport="${url#redis://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=6379
[ -n "$host" ] || host=127.0.0.1

listening() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if listening; then exit 0; fi
case "$host" in
  127.0.0.1|localhost|::1) ;;
  *) log "nothing answers at $host:$port and it is not this machine: start Redis there"; exit 1 ;;
esac
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server (Debian package)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
mkdir -p var/redis
log "starting redis-server on $host:$port (data and log in var/redis)"
redis-server --daemonize yes --bind "$host" --port "$port" --dir "$PWD/var/redis" \
  --logfile "$PWD/var/redis/redis-$port.log" --pidfile "$PWD/var/redis/redis-$port.pid" --save "" --appendonly no
for _ in $(seq 1 50); do listening && exit 0; sleep 0.1; done
log "redis-server did not start: see var/redis/redis-$port.log"
exit 1
