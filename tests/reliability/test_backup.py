"""`make backup` / `make restore` round trip: scripts/backup.sh dumps the test
database and the media and imagery files; scripts/restore.sh restores them
into a new database and new folders; every table matches row for row (row
count + md5 of the ordered rows, computed by PostgreSQL on both sides) and
every file byte for byte (sha256)."""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile

from layers.models import Photo, StreetLight
from tests.reliability.cluster import ROOT
from tests.reliability.support import make_city, write_dem

pytestmark = pytest.mark.django_db(transaction=True)


def _url(name: str) -> str:
    db = settings.DATABASES["default"]
    return f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _fingerprint(name: str) -> dict[str, tuple]:
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(dbname=name, user=db["USER"], password=db["PASSWORD"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
    try:
        with conn.cursor() as cur:
            cur.execute("select tablename from pg_tables where schemaname = 'public' order by 1")
            tables = [r[0] for r in cur.fetchall()]
            out = {}
            for t in tables:
                cur.execute(f'select count(*), md5(coalesce(string_agg(x::text, \'|\' order by x::text), \'\')) from "{t}" x')
                out[t] = cur.fetchone()
            cur.execute("select last_value from pg_sequences where schemaname = 'public' order by sequencename")
            out["(sequences)"] = tuple(r[0] for r in cur.fetchall())
            return out
    finally:
        conn.close()


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_backup_restore_round_trip(tmp_path, settings):
    from imagery.services import imagery_ingest

    media, imagery = tmp_path / "media", tmp_path / "media" / "imagery"
    settings.MEDIA_ROOT, settings.IMAGERY_ROOT = media, imagery
    make_city(n_lights=40)
    dem = tmp_path / "dem.tif"
    write_dem(dem)
    imagery_ingest(source=dem, kind="dem")
    pju = StreetLight.objects.first()
    Photo.objects.create(layer="pju", object_id=pju.pk, image=ContentFile(b"\x89PNG fake", name="foto.png"),
                         geom=Point(106.62, -6.2, srid=4326))
    StreetLight.objects.filter(pk=pju.pk).update(deleted_at="2026-01-02T03:04:05Z")  # soft-deleted rows survive too
    source_db = settings.DATABASES["default"]["NAME"]
    restored_db = f"{source_db}_restored"
    env = {**os.environ, "DATABASE_URL": _url(source_db), "MEDIA_ROOT": str(media), "IMAGERY_ROOT": str(imagery)}
    env.pop("GEO_PLATFORM_TEST_DB", None)
    backup_dir = tmp_path / "backup"
    subprocess.run(["make", "-s", "backup", f"BACKUP_DIR={backup_dir}"], cwd=ROOT, env=env, check=True, timeout=600,
                   capture_output=True)
    assert {p.name for p in backup_dir.iterdir()} >= {"database.dump", "media.tar", "imagery.tar", "SHA256SUMS", "MANIFEST"}

    out_media, out_imagery = tmp_path / "restored_media", tmp_path / "restored_imagery"
    renv = {**env, "TARGET_DATABASE_URL": _url(restored_db), "RESTORE_MEDIA_ROOT": str(out_media), "RESTORE_IMAGERY_ROOT": str(out_imagery)}
    admin = psycopg2.connect(dbname="postgres", user=settings.DATABASES["default"]["USER"], password=settings.DATABASES["default"]["PASSWORD"],
                             host=settings.DATABASES["default"]["HOST"] or "127.0.0.1", port=settings.DATABASES["default"]["PORT"] or 5432)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{restored_db}"')
        done = subprocess.run(["make", "-s", "restore", f"BACKUP={backup_dir}"], cwd=ROOT, env=renv, timeout=600, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        original, copy = _fingerprint(source_db), _fingerprint(restored_db)
        assert original.keys() == copy.keys()
        different = [t for t in original if original[t] != copy[t]]
        assert not different, different
        assert original["layers_streetlight"][0] == 40 and original["imagery_imagery"][0] == 1
        assert _files(media / "photos") == _files(out_media / "photos") and _files(media / "photos")
        assert _files(imagery) == _files(out_imagery) and _files(imagery)

        # A corrupted backup is refused before anything is touched.
        with open(backup_dir / "media.tar", "ab") as fh:
            fh.write(b"x")
        bad = subprocess.run(["make", "-s", "restore", f"BACKUP={backup_dir}"], cwd=ROOT, env=renv, timeout=600, capture_output=True, text=True)
        assert bad.returncode != 0 and "checksum" in bad.stderr
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{restored_db}"')
        admin.close()
