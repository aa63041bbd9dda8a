"""Writes: ingest a raster (validate → COG → describe → store → register) and delete."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import rasterio
from django.contrib.gis.geos import GEOSGeometry
from django.db import IntegrityError, transaction
from rio_cogeo.cogeo import cog_translate, cog_validate
from rio_cogeo.profiles import cog_profiles

from imagery import conf, readers
from imagery.errors import InvalidParameter, InvalidRaster, RasterTooLarge
from imagery.inspect_raster import READ_ERRORS, capture_date, describe, open_upload, sniff_driver, validate
from imagery.models import ELEVATION_KINDS, KIND_CODES, Imagery
from geo_platform.srid import STORAGE_SRID

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
COG_BLOCK = 256  # internal tiles the size of a web tile; overviews down to one block


@dataclass
class IngestResult:
    status: str  # created | updated | skipped
    imagery: Imagery
    changes: list[str] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _tmp_dir() -> Path:
    path = conf.imagery_root() / ".tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cog_profile(dtype: str) -> dict:
    profile = cog_profiles.get("deflate")
    profile.update(blockxsize=COG_BLOCK, blockysize=COG_BLOCK)
    if dtype.startswith(("int", "uint")) and dtype not in ("uint8", "int8"):
        profile["predictor"] = 2
    elif dtype.startswith("float"):
        profile["predictor"] = 3
    return profile


def _convert(source: Path, target: Path, progress_out=None) -> None:
    """Cloud-Optimized GeoTIFF with internal tiles and overviews, in the source's own CRS."""
    with open_upload(source) as src:
        profile = _cog_profile(src.dtypes[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cog_translate(
                src,
                str(target),
                profile,
                overview_resampling="average",
                in_memory=False,
                quiet=progress_out is None,
                progress_out=progress_out,
                config={"GDAL_NUM_THREADS": "ALL_CPUS", "GDAL_TIFF_INTERNAL_MASK": True, "GDAL_TIFF_OVR_BLOCKSIZE": str(COG_BLOCK)},
            )
    valid, errors, _ = cog_validate(str(target), quiet=True)
    if not valid:
        raise RuntimeError(f"rio-cogeo produced an invalid COG: {errors}")


def _update_existing(obj: Imagery, *, name, kind, captured_on, licence, attribution) -> IngestResult:
    if kind in ELEVATION_KINDS and obj.bands != 1:
        raise InvalidRaster(f"a {kind} must have exactly one band (elevation); this file has {obj.bands}", "kind")
    changes = []
    for attr, value in (("name", name), ("kind", kind), ("captured_on", captured_on), ("licence", licence), ("attribution", attribution)):
        if value not in (None, "") and getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changes.append(attr)
    if changes:
        obj.save(update_fields=changes + ["updated_at"])
        return IngestResult("updated", obj, changes)
    return IngestResult("skipped", obj)


def imagery_ingest(
    *,
    source: Path,
    kind: str,
    name: str | None = None,
    captured_on: dt.date | None = None,
    licence: str = "",
    attribution: str = "",
    original_filename: str | None = None,
    created_by=None,
    max_bytes: int | None = None,
    progress_out=None,
    channel: str = "import",
) -> IngestResult:
    """Register a raster file (``progress_out``: a text stream for the conversion progress bar). The same bytes (sha256) are never stored twice:
    a re-ingest updates the given metadata or is skipped. Any failure leaves
    no row and no file behind."""
    source = Path(source)
    if kind not in KIND_CODES:
        raise InvalidParameter(f"kind must be one of {', '.join(KIND_CODES)}, not {kind!r}", "kind")
    sniff_driver(source)  # issue 12: a local GeoTIFF/COG by its bytes, before GDAL reads anything
    size = source.stat().st_size
    if size == 0:
        raise InvalidRaster("the file is empty")
    if max_bytes is not None and size > max_bytes:
        raise RasterTooLarge(f"the file is {size:,} bytes, more than the {max_bytes:,} allowed")
    checksum = file_sha256(source)
    existing = Imagery.objects.filter(checksum=checksum).first()
    if existing is not None and existing.path.is_file():
        return _update_existing(existing, name=name, kind=kind, captured_on=captured_on, licence=licence, attribution=attribution)
    # new, or registered but its COG is gone (e.g. a wiped media folder): convert (again)

    try:
        with open_upload(source) as src:
            validate(src, kind)
            file_date = capture_date(src)
    except (InvalidRaster, RasterTooLarge):
        raise
    except READ_ERRORS as exc:
        raise InvalidRaster(f"not a readable raster: {_short(exc)}") from None

    root = conf.imagery_root()
    tmp = _tmp_dir() / f"{uuid.uuid4().hex}.tif"
    final = root / "cog" / checksum[:2] / f"{checksum}.tif"
    moved = False
    try:
        try:
            _convert(source, tmp, progress_out)
        except READ_ERRORS as exc:
            raise InvalidRaster(f"not a readable raster: {_short(exc)}") from None
        with rasterio.open(tmp) as cog:
            facts = describe(cog)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        moved = True
        footprint = GEOSGeometry(facts.pop("footprint").wkb_hex, srid=STORAGE_SRID)
        if existing is not None:
            with transaction.atomic():
                existing.footprint = footprint
                existing.file = str(final.relative_to(root))
                existing.size_bytes = final.stat().st_size
                for attr, value in facts.items():
                    setattr(existing, attr, value)
                existing.save()
                result = _update_existing(existing, name=name, kind=kind, captured_on=captured_on, licence=licence,
                                          attribution=attribution)
            log.warning("imagery %s: missing COG restored from %s", existing.pk, source)
            return IngestResult("updated", existing, ["file"] + result.changes)
        with transaction.atomic():
            obj = Imagery.objects.create(
                name=name or Path(original_filename or source.name).stem,
                kind=kind,
                captured_on=captured_on or file_date,
                footprint=footprint,
                checksum=checksum,
                file=str(final.relative_to(root)),
                size_bytes=final.stat().st_size,
                source_size_bytes=size,
                original_filename=original_filename or source.name,
                licence=licence or "",
                attribution=attribution or "",
                created_by=created_by,
                **facts,
            )
            _audit(obj, "create", created_by, channel, after=_audit_values(obj))
        log.info("imagery %s registered from %s (%s bytes)", obj.pk, obj.original_filename, size)
        return IngestResult("created", obj)
    except IntegrityError:
        # the same file was registered concurrently: keep its COG, report it
        obj = Imagery.objects.filter(checksum=checksum).first()
        if obj is None:
            if moved:
                final.unlink(missing_ok=True)
            raise
        return IngestResult("skipped", obj)
    except BaseException:
        if moved:
            final.unlink(missing_ok=True)
        raise
    finally:
        tmp.unlink(missing_ok=True)
        for extra in tmp.parent.glob(tmp.name + "*"):  # GDAL side files (.aux.xml, .ovr)
            extra.unlink(missing_ok=True)


def imagery_ingest_upload(*, upload, kind: str, created_by=None, **meta) -> IngestResult:
    """Ingest an UploadedFile: large uploads are already on disk (Django's
    TemporaryUploadedFile); small in-memory ones are streamed to our temp dir."""
    max_bytes = conf.max_upload_bytes()
    if upload.size is not None and upload.size > max_bytes:
        raise RasterTooLarge(f"the upload is {upload.size:,} bytes, more than the {max_bytes:,} allowed")
    if hasattr(upload, "temporary_file_path"):
        return imagery_ingest(source=Path(upload.temporary_file_path()), kind=kind, original_filename=upload.name,
                              created_by=created_by, max_bytes=max_bytes, channel="api", **meta)
    tmp = _tmp_dir() / f"upload-{uuid.uuid4().hex}.tif"  # a server-made name; the driver comes from the bytes
    try:
        with open(tmp, "wb") as fh:
            for chunk in upload.chunks(CHUNK):
                fh.write(chunk)
        return imagery_ingest(source=tmp, kind=kind, original_filename=upload.name, created_by=created_by,
                              max_bytes=max_bytes, channel="api", **meta)
    finally:
        tmp.unlink(missing_ok=True)
        for extra in tmp.parent.glob(tmp.name + "*"):
            extra.unlink(missing_ok=True)


AUDITED = ("name", "kind", "captured_on", "checksum", "file", "original_filename", "licence", "attribution")


def _audit_values(obj: Imagery) -> dict:
    return {f: getattr(obj, f) for f in AUDITED}


def _audit(obj: Imagery, action: str, user, channel: str, *, after: dict | None = None, before: dict | None = None) -> None:
    """History of imagery records in the platform's audit log (layer "imagery")."""
    from layers.services import audit_record

    audit_record(layer="imagery", object_id=obj.pk, action=action, user=user, changes=after, before=before, channel=channel)


@transaction.atomic
def imagery_delete(*, imagery: Imagery, user=None, channel: str = "api") -> None:
    from imagery.selectors import forget_tile_source

    path, pk = imagery.path, imagery.pk
    _audit(imagery, "delete", user, channel, before=_audit_values(imagery))
    imagery.delete()
    readers.forget(path)
    forget_tile_source(pk)
    transaction.on_commit(lambda: path.unlink(missing_ok=True))


def _short(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    root = str(conf.imagery_root())
    return text.replace(root, "…")[:300]


__all__ = ["IngestResult", "imagery_ingest", "imagery_ingest_upload", "imagery_delete", "file_sha256"]
