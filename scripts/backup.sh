#!/usr/bin/env bash
# make backup: pg_dump (custom format) of DATABASE_URL + the media files
# (photos and the imagery COGs) into one folder, with SHA-256 checksums.
#   scripts/backup.sh [DIR]      DIR defaults to var/backups/<UTC timestamp>
# Restore with scripts/restore.sh DIR (make restore BACKUP=DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:=$(cat var/database_url)}"
PGURL="${DATABASE_URL/#postgis:/postgresql:}"
DIR="${1:-var/backups/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$DIR"
# Where the files live (settings: MEDIA_ROOT, IMAGERY_ROOT).
read -r MEDIA IMAGERY < <(DATABASE_URL="$DATABASE_URL" .venv/bin/python -c '
import os, django; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings"); django.setup()
from django.conf import settings; print(os.path.realpath(settings.MEDIA_ROOT), os.path.realpath(settings.IMAGERY_ROOT))')

pg_dump --format=custom --no-owner --no-privileges --file="$DIR/database.dump" "$PGURL"
mkdir -p "$MEDIA" "$IMAGERY"
case "$IMAGERY/" in
  "$MEDIA"/*) rel="${IMAGERY#"$MEDIA"/}"; tar -C "$MEDIA" --exclude="./$rel" -cf "$DIR/media.tar" . ;;
  *) tar -C "$MEDIA" -cf "$DIR/media.tar" . ;;
esac
tar -C "$IMAGERY" -cf "$DIR/imagery.tar" .
(cd "$DIR" && sha256sum database.dump media.tar imagery.tar > SHA256SUMS)
printf 'created_utc=%s\ndatabase=%s\nmedia_root=%s\nimagery_root=%s\n' \
  "$(date -u +%FT%TZ)" "${PGURL##*/}" "$MEDIA" "$IMAGERY" > "$DIR/MANIFEST"
echo "$DIR"
