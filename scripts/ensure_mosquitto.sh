#!/usr/bin/env bash
# Issue 16 (SPEC §7): an MQTT broker on MQTT_URL (default mqtt://127.0.0.1:1883).
# Installs Debian's mosquitto when missing and, when nothing listens on the
# URL's port, starts the project's own broker (var/mosquitto/, config from
# scripts/mosquitto.conf). A broker that already listens is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[mosquitto]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

url="${MQTT_URL:-mqtt://127.0.0.1:1883}"
hostport="${url#*://}"; hostport="${hostport%%/*}"; hostport="${hostport##*@}"
host="${hostport%:*}"; port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=1883
[ -z "$host" ] && host=127.0.0.1

listening() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if listening; then
  exit 0  # a broker is there (the system's, a container's or ours): leave it alone
fi
case "$host" in
  127.0.0.1|localhost|::1) ;;
  *) log "nothing answers at $url and it is not this machine: start that broker, or set MQTT_URL"; exit 1 ;;
esac
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  log "installing mosquitto (Debian package)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
dir="${MOSQUITTO_DIR:-$PWD/var/mosquitto}"
mkdir -p "$dir"
sed -e "s|@PORT@|$port|g" -e "s|@HOST@|$host|g" -e "s|@DIR@|$dir|g" scripts/mosquitto.conf > "$dir/mosquitto.conf"
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
  chown -R mosquitto "$dir"  # run as root, mosquitto drops to its own user
fi
log "starting mosquitto on $host:$port (config $dir/mosquitto.conf)"
"$MOSQUITTO" -d -c "$dir/mosquitto.conf"
for _ in $(seq 1 50); do listening && exit 0; sleep 0.2; done
log "mosquitto did not start; see $dir/mosquitto.log"
exit 1
