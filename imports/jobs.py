"""Background jobs other than imports (SPEC §9): full needs recomputation (or
the refresh of the roads an edit touches), imagery ingest (COG conversion of
a large upload), the programme and Musrenbang exports. Each runs as the
Celery task `imports.run_background_job`, is idempotent (a finished job is
left alone) and is delivered again when its worker dies; the database work
of a job is one transaction and an export's file appears (atomic rename)
only with the job's `done`, so a killed job leaves nothing half-written.

Parameters are checked when the job is submitted (400) and again when it
runs (the same checks: a stale job fails with the reason)."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import get_valid_filename
from rest_framework.exceptions import ValidationError

from imports.models import BackgroundJob, Upload
from imports.queueing import send_after_commit

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
EXPORT_FORMATS = ("xlsx", "csv")
# Who may submit which kind: planners/admins for work that changes data, any
# logged-in user for the exports (SPEC §4: exports need login).
PLANNER_KINDS = ("needs", "imagery")
IMAGERY_FIELDS = ("imagery_kind", "name", "captured_on", "licence", "attribution")


class JobInputError(ValidationError):
    """Bad parameters (400 in the SPEC §4 shape)."""


def job_dir(job_id) -> Path:
    return Path(settings.IMPORT_UPLOAD_DIR) / "background" / str(job_id)


def may_submit(user, kind: str) -> bool:
    from imports.services import can_import

    if not (user and user.is_authenticated):
        return False
    return can_import(user) if kind in PLANNER_KINDS else True


def _ids(value, name: str) -> list[int] | None:
    if value in (None, ""):
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise JobInputError({name: [f"{name} must be a list of ids (integers)"]})
    return value


def _query(params: dict) -> QueryDict:
    return QueryDict(urlencode({k: v for k, v in params.items() if k != "format"}, doseq=True))


def _format(params: dict) -> str:
    fmt = str(params.get("format") or "xlsx")
    if fmt not in EXPORT_FORMATS:
        raise JobInputError({"format": ["format must be xlsx or csv"]})
    return fmt


def _programme_input(params: dict) -> dict:
    from estimates.apis import ProgrammeApi

    s = ProgrammeApi.ProgrammeFilterSerializer(data={"limit": 10000, **{k: v for k, v in params.items() if k != "format"}})
    if not s.is_valid():
        raise JobInputError(s.errors)
    return dict(s.validated_data)


def _gaps(params: dict):
    from needs import filters, selectors

    return filters.apply_filters(filters.GapFilterSet, selectors.lighting_gap_list(), _query(params))


def clean_params(kind: str, params: dict) -> dict:
    """The job's parameters, checked (JobInputError on bad input)."""
    if kind not in BackgroundJob.KINDS:
        raise JobInputError({"kind": [f"kind: one of {', '.join(BackgroundJob.KINDS)}"]})
    if not isinstance(params, dict):
        raise JobInputError({"params": ["a JSON object"]})
    if kind == "needs":
        out = {"roads": _ids(params.get("roads"), "roads"), "pju": _ids(params.get("pju"), "pju")}
        return {k: v for k, v in out.items() if v is not None}
    if kind == "imagery":
        from imagery.models import KIND_CODES

        if params.get("imagery_kind") not in KIND_CODES:
            raise JobInputError({"imagery_kind": [f"imagery_kind: one of {', '.join(KIND_CODES)}"]})
        out = {k: str(params[k]) for k in IMAGERY_FIELDS if params.get(k) not in (None, "")}
        if "captured_on" in out:
            _date(out["captured_on"])
        return out
    params = {str(k): str(v) for k, v in params.items() if k not in ("kind",) and v not in (None, "")}
    _format(params)
    if kind == "programme_export":
        _programme_input(params)
    else:
        _gaps(params)  # builds the filter set: bad values raise here
    return params


def submit(user, kind: str, params: dict, *, uploaded_file=None, upload: Upload | None = None) -> BackgroundJob:
    """Create the job and queue its task when the request's transaction commits."""
    params = clean_params(kind, params or {})
    job = BackgroundJob(kind=kind, created_by=user if user and user.is_authenticated else None, params=params)
    if kind == "imagery":
        if (uploaded_file is None) == (upload is None):
            raise JobInputError({"file": ["give either `file` (multipart) or `upload` (a finished tus upload)"]})
        if upload is not None:
            if not upload.complete:
                raise JobInputError({"upload": [f"{upload.offset:,} of {upload.length:,} bytes received; finish the upload first"]})
            job.params.update(path=upload.path, filename=upload.filename)
        else:
            folder = job_dir(job.id)
            folder.mkdir(parents=True, exist_ok=True)
            name = get_valid_filename(os.path.basename(uploaded_file.name or "upload")) or "upload"
            target = folder / f"source-{name}"
            with target.open("wb") as fh:
                for chunk in uploaded_file.chunks():
                    fh.write(chunk)
            job.params.update(path=str(target), filename=name, owned=True)
    job.save()
    queue(job)
    return job


def queue(job: BackgroundJob) -> None:
    """Needs jobs go to the `imports.compute_needs` task, the others to `imports.run_background_job`."""
    from imports.tasks import compute_needs, run_background_job

    send_after_commit(compute_needs if job.kind == "needs" else run_background_job, job)


def queue_needs(*, created_by=None, roads=None, pju=None) -> BackgroundJob:
    """A needs job (full recomputation, or the roads near the given ids)."""
    params = {k: sorted(set(v)) for k, v in (("roads", roads), ("pju", pju)) if v}
    job = BackgroundJob.objects.create(kind="needs", created_by=created_by, params=params)
    try:
        queue(job)  # outside a transaction the task is sent here: a broker that is down raises here
    except Exception:
        BackgroundJob.objects.filter(pk=job.pk).delete()  # no job left waiting forever: the caller does the work now
        raise
    return job


def _progress(job_id, value: float) -> None:
    BackgroundJob.objects.filter(pk=job_id, progress__lt=value).update(progress=value)


def run(job_id) -> str:
    """The task's body."""
    job = BackgroundJob.objects.filter(pk=job_id).first()
    if job is None or job.finished:
        return job.status if job else "missing"
    if job.attempts >= MAX_ATTEMPTS:
        _finish(job, status="failed", error=f"the worker was lost {job.attempts} times while running this job")
        return "failed"
    BackgroundJob.objects.filter(pk=job.pk).update(status="running", attempts=job.attempts + 1, started_at=timezone.now())
    try:
        result = RUNNERS[job.kind](job)
    except ValidationError as exc:
        _finish(job, status="failed", error=f"bad parameters: {exc.detail}")
        return "failed"
    except Exception as exc:  # the job ends with the reason; the worker goes on
        from imagery.errors import ImageryError

        if not isinstance(exc, ImageryError):
            log.exception("background job %s (%s) failed", job.pk, job.kind)
        reason = exc.message if isinstance(exc, ImageryError) else f"unexpected error: {exc.__class__.__name__}: {exc}"
        _finish(job, status="failed", error=reason)
        return "failed"
    finally:
        if job.kind == "imagery" and job.params.get("owned"):
            Path(job.params["path"]).unlink(missing_ok=True)
    return result


def _finish(job: BackgroundJob, *, status: str, error: str = "", **fields) -> None:
    BackgroundJob.objects.filter(pk=job.pk).update(status=status, error=error, finished_at=timezone.now(), **fields)


def _run_needs(job: BackgroundJob) -> str:
    from needs.services import lighting_needs_compute, lighting_needs_refresh

    _progress(job.pk, 0.05)
    with transaction.atomic():  # the needs and the job's `done` commit together
        if job.params.get("roads") or job.params.get("pju"):
            result = lighting_needs_refresh(pju_ids=job.params.get("pju", ()), road_ids=job.params.get("roads", ()))
        else:
            result = lighting_needs_compute()
        _finish(job, status="done", progress=1.0, result=_json_safe(result))
    return "done"


def _run_imagery(job: BackgroundJob) -> str:
    from imagery import conf
    from imagery.services import imagery_ingest

    p = job.params
    _progress(job.pk, 0.05)
    result = imagery_ingest(source=Path(p["path"]), kind=p["imagery_kind"], name=p.get("name"),
                            captured_on=_date(p.get("captured_on")), licence=p.get("licence", ""),
                            attribution=p.get("attribution", ""), original_filename=p.get("filename"),
                            created_by=job.created_by, max_bytes=conf.max_upload_bytes(), channel="api")
    _finish(job, status="done", progress=1.0,
            result={"ingest": result.status, "imagery": result.imagery.pk, "url": f"/api/imagery/{result.imagery.pk}/"})
    return "done"


def _date(value):
    import datetime as dt

    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise JobInputError({"captured_on": ["a date YYYY-MM-DD"]}) from None


def _write_export(job: BackgroundJob, content: bytes, filename: str, content_type: str, result: dict) -> str:
    folder = job_dir(job.pk)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / get_valid_filename(filename)
    tmp = final.with_name(final.name + ".part")
    tmp.write_bytes(content)
    os.replace(tmp, final)
    _finish(job, status="done", progress=1.0, file=str(final), filename=final.name, content_type=content_type,
            result={**result, "bytes": len(content)})
    return "done"


def _run_programme_export(job: BackgroundJob) -> str:
    from estimates import exports, programme
    from estimates.pricing import price_list_get

    fmt = _format(job.params)
    d = _programme_input(job.params)
    _progress(job.pk, 0.05)
    price_list = price_list_get(price_list_id=d.get("price_list"), region=d.get("region"), year=d.get("year"))
    out = programme.programme_build(
        level=d["level"], budget=d.get("budget"), price_list=price_list, area=d.get("area"), source=d.get("source"),
        limit=d["limit"], offset=d["offset"], bbox=d.get("bbox"), road_class=d.get("road_class"),
        condition=d.get("condition"), authority=d.get("authority"), years=d["years"])
    _progress(job.pk, 0.7)
    if fmt == "csv":
        content, ctype = exports.programme_csv(out).encode("utf-8"), "text/csv; charset=utf-8"
    else:
        content, ctype = exports.programme_xlsx(out), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _write_export(job, content, f"program_penanganan_jalan.{fmt}", ctype,
                         {"format": fmt, "count": out.get("count"), "segments": len(out["segments"])})


def _run_musrenbang_export(job: BackgroundJob) -> str:
    from needs import exports

    fmt = _format(job.params)
    gaps = _gaps(job.params)
    _progress(job.pk, 0.05)
    content, ctype, filename = exports.musrenbang_export(gaps=gaps, fmt=fmt)
    return _write_export(job, content, filename, ctype, {"format": fmt, "gaps": gaps.count()})


RUNNERS = {"needs": _run_needs, "imagery": _run_imagery, "programme_export": _run_programme_export,
           "musrenbang_export": _run_musrenbang_export}


def _json_safe(value):
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def remove_files(job: BackgroundJob) -> None:
    shutil.rmtree(job_dir(job.pk), ignore_errors=True)
