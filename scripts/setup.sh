#!/usr/bin/env bash
# Set-up shared by `make run` and `make test` (SPEC §2): system packages when
# missing, .venv with pinned requirements, a PostGIS database (DATABASE_URL if
# set, else a local one created here), migrations. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

# 1. System packages (Debian 12): PostgreSQL + PostGIS 3, GDAL, venv, chromium for browser tests.
PKGS="postgresql postgresql-15-postgis-3 gdal-bin libgdal32 binutils libproj-dev python3-venv python3-dev chromium gettext"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  log "installing system packages:$missing"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# 1b. Node and npm (Debian's packages) for ESLint and the browser unit tests (issue 15); ESLint itself from
#     the npm registry, pinned in package-lock.json (re-installed when the lock file changes).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "installing nodejs npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -f node_modules/.lock.sha ] || ! sha256sum -c --status node_modules/.lock.sha 2>/dev/null; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  sha256sum package-lock.json > node_modules/.lock.sha
fi

# 2. Python virtualenv with pinned requirements (re-installed when requirements.txt changes).
PY=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  $PY -m venv .venv
fi
if [ ! -f .venv/.requirements.sha ] || ! sha256sum -c --status .venv/.requirements.sha 2>/dev/null; then
  log "installing Python requirements (about a minute on a cold cache)"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  sha256sum requirements.txt > .venv/.requirements.sha
fi

# 3. Database.
if [ -z "${DATABASE_URL:-}" ]; then
  # A local PostgreSQL cluster: start the existing one, or create one.
  if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
    log "creating a PostgreSQL cluster"
    as_root pg_createcluster 15 main >/dev/null
  fi
  read -r ver name port status _ < <(pg_lsclusters -h | head -1)
  if [ "$status" != "online" ]; then
    log "starting PostgreSQL $ver/$name on port $port"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start 2>/dev/null || as_root pg_ctlcluster "$ver" "$name" start
  fi
  export PGPORT="$port"
  psql_admin() {  # psql_admin DB  (SQL on stdin) as the postgres superuser
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql -p "$port" -d "$1" -v ON_ERROR_STOP=1 -qAt
    else sudo -n -u postgres psql -p "$port" -d "$1" -v ON_ERROR_STOP=1 -qAt; fi
  }
  for i in $(seq 1 30); do echo 'select 1' | psql_admin postgres >/dev/null 2>&1 && break; sleep 1; done
  # Local development role: SUPERUSER so the test runner may CREATE EXTENSION postgis in its test database.
  if [ "$(echo "select 1 from pg_roles where rolname='geo_platform'" | psql_admin postgres)" != "1" ]; then
    log "creating role geo_platform"
    echo "create role geo_platform login superuser password 'geo_platform'" | psql_admin postgres
  fi
  if [ "$(echo "select 1 from pg_database where datname='geo_platform'" | psql_admin postgres)" != "1" ]; then
    log "creating database geo_platform"
    echo "create database geo_platform owner geo_platform" | psql_admin postgres
  fi
  echo "create extension if not exists postgis" | psql_admin geo_platform
  export DATABASE_URL="postgis://geo_platform:geo_platform@127.0.0.1:$port/geo_platform"
  mkdir -p var && echo "$DATABASE_URL" > var/database_url
else
  mkdir -p var && echo "$DATABASE_URL" > var/database_url
fi

# Issue 16: MQTT broker for the live PJU network (installs/starts Mosquitto only when nothing listens on MQTT_URL).
./scripts/ensure_mosquitto.sh

# 4. Schema.
log "applying migrations"
.venv/bin/python manage.py migrate --noinput -v 0

# 5. Redis for Celery (issue 18): installed and started when nothing listens on CELERY_BROKER_URL.
./scripts/ensure_redis.sh
