#!/usr/bin/env bash
# make restore BACKUP=DIR: restores a scripts/backup.sh folder.
#   scripts/restore.sh DIR
# Target database: TARGET_DATABASE_URL, else DATABASE_URL (else var/database_url).
# It is created when missing; an existing one is cleaned (objects of the dump
# dropped and re-created). Files go to RESTORE_MEDIA_ROOT / RESTORE_IMAGERY_ROOT,
# else the settings' MEDIA_ROOT / IMAGERY_ROOT. Checksums are verified first.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:?usage: restore.sh BACKUP_DIR}"
DIR="$(cd "$DIR" && pwd)"
: "${DATABASE_URL:=$(cat var/database_url)}"
TARGET="${TARGET_DATABASE_URL:-$DATABASE_URL}"
PGURL="${TARGET/#postgis:/postgresql:}"
(cd "$DIR" && sha256sum --quiet -c SHA256SUMS) || { echo "restore: checksum mismatch in $DIR" >&2; exit 1; }

DBNAME="${PGURL##*/}"; DBNAME="${DBNAME%%\?*}"
ADMIN_URL="${PGURL%/*}/postgres"
if [ "$(psql "$ADMIN_URL" -qAt -c "select 1 from pg_database where datname = '$DBNAME'")" != "1" ]; then
  psql "$ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "create database \"$DBNAME\""
fi
psql "$PGURL" -q -v ON_ERROR_STOP=1 -c "create extension if not exists postgis"
pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error -d "$PGURL" "$DIR/database.dump"

read -r MEDIA IMAGERY < <(DATABASE_URL="$TARGET" .venv/bin/python -c '
import os, django; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings"); django.setup()
from django.conf import settings; print(os.path.realpath(settings.MEDIA_ROOT), os.path.realpath(settings.IMAGERY_ROOT))')
MEDIA="${RESTORE_MEDIA_ROOT:-$MEDIA}"
IMAGERY="${RESTORE_IMAGERY_ROOT:-$IMAGERY}"
mkdir -p "$MEDIA" "$IMAGERY"
tar -C "$MEDIA" -xf "$DIR/media.tar"
tar -C "$IMAGERY" -xf "$DIR/imagery.tar"
echo "restored $DIR into database $DBNAME, media $MEDIA, imagery $IMAGERY"
