"""/api/imports/ and the tus 1.0 endpoints at /api/uploads/ (SPEC §9).
Thin views: the work is in imports.services."""
import base64
import json
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.text import get_valid_filename
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_platform import access, errors
from imports import services
from imports.models import ImportJob, Upload

TUS_VERSION = "1.0.0"


CanImport = services.IMPORT_POLICY  # planners and admins (SPEC §9)


def job_json(request, job: ImportJob) -> dict:
    url = request.build_absolute_uri(reverse("import-detail", args=[job.id]))
    report = job.report
    if report is not None:
        report = {k: v for k, v in report.items() if k != "rejects_file"}
    return {
        "id": str(job.id), "url": url, "status": job.status, "phase": job.phase, "progress": job.progress,
        "layer": job.layer, "source": job.source, "file": job.filename, "report": report, "error": job.error or None,
        "rejects_url": request.build_absolute_uri(reverse("import-rejects", args=[job.id])) if job.rejects_file else None,
        "attempts": job.attempts, "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
        "needs_job_url": request.build_absolute_uri(reverse("job-detail", args=[job.needs_job])) if job.needs_job else None,
    }


def _get_job(request, pk) -> ImportJob:
    job = ImportJob.objects.filter(pk=pk).first()
    if job is None or not (request.user.is_superuser or job.created_by_id in (None, request.user.id)
                           or services.can_import(request.user)):
        raise NotFound(f"no import job {pk}")
    return job


class ImportListView(APIView):
    permission_classes = [CanImport]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get(self, request):
        jobs = ImportJob.objects.all()[:50]
        return Response({"results": [job_json(request, j) for j in jobs]})

    def post(self, request):
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        limit = settings.IMPORT_MULTIPART_MAX_BYTES
        if length > limit + 1024 * 1024 and request.content_type.startswith("multipart/"):
            raise errors.TooLarge(f"files over {limit // 1024**2} MB go through a resumable upload at /api/uploads/ (tus 1.0), "
                                  "then name it as `upload`", "file")
        data = request.data
        mapping = data.get("mapping") or None
        if isinstance(mapping, str):
            try:
                mapping = json.loads(mapping)
            except ValueError:
                raise ValidationError({"mapping": ["not valid JSON"]})
        upload = None
        if data.get("upload"):
            try:
                upload = Upload.objects.filter(pk=uuid.UUID(str(data["upload"]).rstrip("/").rsplit("/", 1)[-1])).first()
            except ValueError:
                upload = None
            if upload is None or (upload.created_by_id != request.user.id and not request.user.is_superuser):
                raise ValidationError({"upload": ["no such upload"]})
        try:
            job = services.create_job(request.user, layer=str(data.get("layer", "")), source=str(data.get("source", "") or ""),
                                      level=str(data.get("level", "") or ""), mapping=mapping,
                                      id_field=str(data.get("id_field", "") or ""),
                                      uploaded_file=request.FILES.get("file"), upload=upload)
        except services.JobError as exc:
            field = str(exc).split(":", 1)[0] if ":" in str(exc) else "file"
            raise ValidationError({field: [str(exc)]})
        return Response(job_json(request, job), status=status.HTTP_202_ACCEPTED)


class ImportDetailView(APIView):
    permission_classes = [CanImport]

    def get(self, request, pk):
        return Response(job_json(request, _get_job(request, pk)))

    def delete(self, request, pk):
        job = _get_job(request, pk)
        if job.finished and job.status != "cancelled":
            raise errors.Conflict(f"the job is already {job.status}", "status")
        job = services.cancel_job(job)
        return Response(job_json(request, job), status=status.HTTP_202_ACCEPTED)


class ImportRejectsView(APIView):
    permission_classes = [CanImport]

    def get(self, request, pk):
        job = _get_job(request, pk)
        if not job.rejects_file or not Path(job.rejects_file).exists():
            raise NotFound("this job has no rejected rows")
        return FileResponse(open(job.rejects_file, "rb"), as_attachment=True, content_type="text/csv",
                            filename=f"{Path(job.filename).stem}.rejected.csv")


# --- tus 1.0 (core + creation + termination): https://tus.io/protocols/resumable-upload

def _tus(response: HttpResponse) -> HttpResponse:
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    return response


def _tus_error(code: int, detail: str) -> HttpResponse:
    return _tus(errors.error(code, detail, {"upload": [detail]}))


def _parse_metadata(header: str) -> dict:
    meta = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            meta[key] = base64.b64decode(value).decode("utf-8") if value else ""
        except (ValueError, UnicodeDecodeError):
            raise ValidationError({"Upload-Metadata": [f"{key}: not base64 UTF-8"]})
    return meta


class TusView(APIView):
    permission_classes = [CanImport]
    parser_classes = []

    def options(self, request, *args, **kwargs):
        response = HttpResponse(status=204)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = "creation,termination"
        response["Tus-Max-Size"] = str(settings.IMPORT_MAX_UPLOAD_BYTES)
        return _tus(response)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise _TusPrecondition()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 412:
            response["Tus-Version"] = TUS_VERSION
        return _tus(response)


class _TusPrecondition(errors.ApiError):
    def __init__(self):
        super().__init__(f"Tus-Resumable: {TUS_VERSION} is required", "upload")


errors.register(_TusPrecondition, 412)


class UploadCreateView(TusView):
    def post(self, request):
        try:
            length = int(request.headers.get("Upload-Length", ""))
        except ValueError:
            return _tus_error(400, "Upload-Length: the file's size in bytes is required")
        if length < 0:
            return _tus_error(400, "Upload-Length must not be negative")
        if length > settings.IMPORT_MAX_UPLOAD_BYTES:
            return _tus_error(413, f"Upload-Length over the {settings.IMPORT_MAX_UPLOAD_BYTES:,} bytes allowed")
        meta = _parse_metadata(request.headers.get("Upload-Metadata", ""))
        filename = get_valid_filename(os.path.basename(meta.get("filename") or meta.get("name") or "upload")) or "upload"
        upload = Upload(created_by=request.user, filename=filename, length=length, metadata=meta)
        folder = Path(settings.IMPORT_UPLOAD_DIR) / "tus" / str(upload.id)
        folder.mkdir(parents=True, exist_ok=True)
        upload.path = str(folder / filename)
        Path(upload.path).touch()
        upload.save()
        response = HttpResponse(status=201)
        response["Location"] = request.build_absolute_uri(reverse("upload-detail", args=[upload.id]))
        response["Upload-Offset"] = "0"
        return _tus(response)


CHUNK = 1024 * 1024


class UploadDetailView(TusView):
    def _upload(self, request, pk) -> Upload:
        upload = Upload.objects.filter(pk=pk).first()
        if upload is None or (upload.created_by_id != request.user.id and not request.user.is_superuser):
            raise NotFound(f"no upload {pk}")
        return upload

    def head(self, request, pk):
        upload = self._upload(request, pk)
        response = HttpResponse(status=200)
        response["Upload-Offset"] = str(upload.offset)
        response["Upload-Length"] = str(upload.length)
        return _tus(response)

    def get(self, request, pk):  # not part of tus: the upload's state as JSON
        upload = self._upload(request, pk)
        return _tus(Response({"id": str(upload.id), "filename": upload.filename, "length": upload.length,
                              "offset": upload.offset, "complete": upload.complete}))

    def patch(self, request, pk):
        upload = self._upload(request, pk)
        if request.content_type != "application/offset+octet-stream":
            return _tus_error(415, "Content-Type must be application/offset+octet-stream")
        try:
            offset = int(request.headers.get("Upload-Offset", ""))
        except ValueError:
            return _tus_error(400, "Upload-Offset is required")
        if offset != upload.offset:
            return _tus_error(409, f"Upload-Offset {offset} does not match the server's {upload.offset}")
        remaining = upload.length - offset
        stream = request._request
        written = 0
        try:
            with open(upload.path, "r+b") as fh:
                fh.seek(offset)
                fh.truncate()
                while written < remaining:
                    chunk = stream.read(min(CHUNK, remaining - written))
                    if not chunk:
                        break
                    fh.write(chunk)
                    written += len(chunk)
        except OSError:
            pass  # the connection broke: keep what arrived, the client resumes from Upload-Offset
        finally:
            Upload.objects.filter(pk=upload.pk, offset=offset).update(offset=offset + written)
        response = HttpResponse(status=204)
        response["Upload-Offset"] = str(offset + written)
        return _tus(response)

    def delete(self, request, pk):
        upload = self._upload(request, pk)
        Path(upload.path).unlink(missing_ok=True)
        upload.delete()
        return _tus(HttpResponse(status=204))


# --- other background jobs (SPEC §9): needs, imagery ingest, exports ---

def background_json(request, job) -> dict:
    return {
        "id": str(job.id), "url": request.build_absolute_uri(reverse("job-detail", args=[job.id])), "kind": job.kind,
        "status": job.status, "progress": job.progress, "result": job.result, "error": job.error or None,
        "download_url": request.build_absolute_uri(reverse("job-download", args=[job.id])) if job.file and job.status == "done" else None,
        "attempts": job.attempts, "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
    }


IsLoggedIn = access.LOGIN_ONLY  # background jobs: login or an API token


def _get_background(request, pk):
    from imports.models import BackgroundJob

    job = BackgroundJob.objects.filter(pk=pk).first()
    if job is None or not (request.user.is_superuser or job.created_by_id == request.user.id):
        raise NotFound(f"no job {pk}")
    return job


class JobListView(APIView):
    """POST {"kind": "needs"|"imagery"|"programme_export"|"musrenbang_export", …parameters} → 202 and a job to poll."""

    permission_classes = [IsLoggedIn]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get(self, request):
        from imports.models import BackgroundJob

        jobs = BackgroundJob.objects.all() if request.user.is_superuser else BackgroundJob.objects.filter(created_by=request.user)
        return Response({"results": [background_json(request, j) for j in jobs[:50]]})

    def post(self, request):
        from imports import jobs

        data = request.data
        kind = str(data.get("kind", ""))
        if not jobs.may_submit(request.user, kind):
            raise PermissionDenied("only planners and admins may start this job")
        params = {k: v for k, v in data.items() if k not in ("kind", "file", "upload")}
        if hasattr(data, "getlist"):  # multipart/form: one value per field
            params = {k: data.get(k) for k in params}
        upload = None
        if kind == "imagery" and data.get("upload"):
            try:
                upload = Upload.objects.filter(pk=uuid.UUID(str(data["upload"]).rstrip("/").rsplit("/", 1)[-1])).first()
            except ValueError:
                upload = None
            if upload is None or (upload.created_by_id != request.user.id and not request.user.is_superuser):
                raise ValidationError({"upload": ["no such upload"]})
        job = jobs.submit(request.user, kind, params, uploaded_file=request.FILES.get("file"), upload=upload)
        return Response(background_json(request, job), status=status.HTTP_202_ACCEPTED)


class JobDetailView(APIView):
    permission_classes = [IsLoggedIn]

    def get(self, request, pk):
        return Response(background_json(request, _get_background(request, pk)))


class JobDownloadView(APIView):
    permission_classes = [IsLoggedIn]

    def get(self, request, pk):
        job = _get_background(request, pk)
        if job.status != "done" or not job.file or not Path(job.file).exists():
            raise NotFound("this job has no file (yet)")
        return FileResponse(open(job.file, "rb"), as_attachment=True, content_type=job.content_type or None,
                            filename=job.filename)
