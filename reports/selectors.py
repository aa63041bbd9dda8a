"""Reads of reports: the Open311 request records (no contact fields ever),
the reports layer (GeoJSON; contacts only for dispatchers), the summary per
area and the citizens' proposals."""
from __future__ import annotations

from datetime import datetime

from django.contrib.gis.geos import Polygon
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from layers.models import Area
from reports.catalogue import SERVICES
from reports.models import CitizenProposal, Report
from reports.services import media_path

OPEN311_MAX = 1000
DEFAULT_DAYS = 90


def iso(dt: datetime | None) -> str | None:
    """GeoReport v2 dates: ISO 8601 with the offset, in the city's zone."""
    return timezone.localtime(dt).isoformat(timespec="seconds") if dt else None


def report_queryset() -> QuerySet[Report]:
    return Report.objects.select_related("duplicate_of", "kecamatan", "kelurahan", "work_order").prefetch_related("photos")


def report_list(*, ids=None, service_codes=None, status=None, start=None, end=None, overdue=False, new=False,
                area: str | None = None, bbox=None) -> QuerySet[Report]:
    qs = report_queryset()
    if ids:
        return qs.filter(pk__in=ids)
    if service_codes:
        qs = qs.filter(service_code__in=service_codes)
    if status:
        qs = qs.filter(Q(duplicate_of__isnull=True, status__in=status) | Q(duplicate_of__status__in=status))
    if start:
        qs = qs.filter(requested_at__gte=start)
    if end:
        qs = qs.filter(requested_at__lte=end)
    if overdue:
        qs = overdue_filter(qs)
    if new:  # the dispatcher's inbox: open, nobody assigned yet
        qs = qs.filter(status="open").filter(Q(work_order__isnull=True) | Q(work_order__status="open"))
    if area:
        qs = qs.filter(Q(kecamatan__code=area) | Q(kelurahan__code=area))
    if bbox:
        qs = qs.filter(geom__intersects=Polygon.from_bbox(bbox))
    return qs.order_by("-requested_at", "-id")


def overdue_filter(qs: QuerySet[Report]) -> QuerySet[Report]:
    return qs.filter(status="open", expected_at__lt=timezone.now())


def _status(r: Report) -> tuple[str, str]:
    if r.duplicate_of_id and r.duplicate_of is not None:
        if r.duplicate_of.status == "closed":
            return "closed", r.duplicate_of.status_notes
        return r.duplicate_of.status, r.status_notes
    return r.status, r.status_notes


def _media(r: Report, absolute) -> str:
    if r.status == "closed" and r.media_url:
        return absolute(r.media_url) if r.media_url.startswith("/") else r.media_url
    photos = list(r.photos.all())
    if photos:
        return absolute(media_path(photos[0]))
    return absolute(r.media_url) if r.media_url.startswith("/") else r.media_url


def open311_request(r: Report, absolute) -> dict:
    """One GeoReport v2 service request (the fields of GET requests)."""
    service = SERVICES[r.service_code]
    status, notes = _status(r)
    notice = f"Duplikat laporan #{r.duplicate_of_id}" if r.duplicate_of_id else ""
    return {
        "service_request_id": str(r.pk),
        "status": status,
        "status_notes": notes,
        "service_name": service.name,
        "service_code": service.code,
        "description": r.description,
        "agency_responsible": service.agency,
        "service_notice": notice,
        "requested_datetime": iso(r.requested_at),
        "updated_datetime": iso(r.updated_at),
        "expected_datetime": iso(r.expected_at),
        "address": r.address_string,
        "address_id": "",
        "zipcode": "",
        "lat": r.geom.y,
        "long": r.geom.x,
        "media_url": _media(r, absolute),
    }


def report_feature(r: Report, absolute, *, with_contact: bool) -> dict:
    """A report as a GeoJSON Feature for the map layer and the dispatcher."""
    status, notes = _status(r)
    now = timezone.now()
    props = {
        "service_code": r.service_code, "service_name": SERVICES[r.service_code].name, "status": status,
        "status_notes": notes, "description": r.description, "priority": r.priority,
        "requested_datetime": iso(r.requested_at), "expected_datetime": iso(r.expected_at), "closed_datetime": iso(r.closed_at),
        "overdue": status == "open" and r.expected_at < now, "duplicate_of": r.duplicate_of_id, "duplicates": r.priority - 1,
        "pju": r.pju_id, "road": r.road_id, "snap_distance_m": r.snap_distance_m, "work_order": r.work_order_id,
        "work_order_status": r.work_order.status if r.work_order_id and r.work_order else None,
        "proposal": r.proposal_id, "kecamatan": r.kecamatan.code if r.kecamatan else None,
        "kelurahan": r.kelurahan.code if r.kelurahan else None, "address": r.address_string,
        "photos": [absolute(media_path(p)) for p in r.photos.all()],
        "media_url": _media(r, absolute), "channel": r.channel,
    }
    if with_contact:
        props["contact"] = {"email": r.email, "first_name": r.first_name, "last_name": r.last_name, "phone": r.phone,
                            "account_id": r.account_id, "device_id": r.device_id}
    return {"type": "Feature", "id": r.pk, "geometry": {"type": "Point", "coordinates": [r.geom.x, r.geom.y]}, "properties": props}


def report_summary(*, level: str = "kecamatan") -> list[dict]:
    """Per area of `level`: received, done, median days to fix, overdue, open
    (reports outside every area are counted under code null)."""
    column = "kecamatan_id" if level == "kecamatan" else "kelurahan_id"
    sql = f"""
        SELECT a.code, a.name, count(*) AS received,
               count(*) FILTER (WHERE {_closed('r')}) AS done,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.closed_at - r.requested_at) / 86400.0)
                   FILTER (WHERE {_closed('r')} AND r.closed_at IS NOT NULL) AS median_days,
               count(*) FILTER (WHERE r.status = 'open' AND r.expected_at < now()) AS overdue,
               count(*) FILTER (WHERE r.status = 'open') AS open
        FROM {Report._meta.db_table} r LEFT JOIN {Area._meta.db_table} a ON a.id = r.{column}
        GROUP BY a.code, a.name ORDER BY a.code NULLS LAST
    """
    with connection.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    return [
        {"code": code, "name": name, "received": received, "done": done,
         "median_days_to_fix": round(median, 2) if median is not None else None, "overdue": overdue, "open": n_open}
        for code, name, received, done, median, overdue, n_open in rows
    ]


def _closed(alias: str) -> str:
    return f"{alias}.status = 'closed'"


def proposal_list() -> QuerySet[CitizenProposal]:
    return CitizenProposal.objects.select_related("kecamatan", "kelurahan", "road").order_by("-citizens", "id")


def proposal_feature(p: CitizenProposal) -> dict:
    return {
        "type": "Feature", "id": p.pk, "geometry": {"type": "Point", "coordinates": [p.geom.x, p.geom.y]},
        "properties": {"citizens": p.citizens, "status": p.status, "road": p.road_id,
                       "road_name": p.road.name if p.road else None,
                       "kecamatan": p.kecamatan.code if p.kecamatan else None,
                       "kelurahan": p.kelurahan.code if p.kelurahan else None,
                       "created_at": iso(p.created_at), "updated_at": iso(p.updated_at),
                       "reports": list(p.reports.order_by("id").values_list("id", flat=True))},
    }


def jurisdictions() -> list[str]:
    return list(Area.objects.filter(level="kabupaten_kota").values_list("code", flat=True))

