"""Reads of reports: the Open311 request records (no contact fields ever),
the reports layer (GeoJSON written by PostGIS through the kernel builder;
contacts only for dispatchers), the summary per area and the citizens'
proposals."""
from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from geo_platform.geojson import FeatureSpec, Page, feature_page, feature_text
from layers.models import Area, RoadSegment
from needs.models import WorkOrder
from reports.catalogue import SERVICES
from reports.models import CitizenProposal, Report, ReportPhoto
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
    """GeoReport v2 `media_url`: the closing photo once closed, else the citizen's first photo, else the
    URL the app sent (absolute). `_report_spec` says the same in SQL for the reports layer."""
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


# --- the reports layer as GeoJSON: the kernel builder (geo_platform.geojson), PostGIS writes the text ---


def _iso_sql(column: str) -> str:
    """SQL of `iso()`: ISO 8601 to the second with the offset, in the city's zone (two %s: TIME_ZONE)."""
    return (f"to_char({column} AT TIME ZONE %s, 'YYYY-MM-DD\"T\"HH24:MI:SS') || (SELECT CASE WHEN o < interval '0' "
            f"THEN '-' || to_char(-o, 'HH24:MI') ELSE '+' || to_char(o, 'HH24:MI') END "
            f"FROM (SELECT ({column} AT TIME ZONE %s) - ({column} AT TIME ZONE 'UTC') AS o) z)")


def _absolute_sql(column: str) -> str:
    """SQL of `absolute()` for a stored URL: a path (starting with /) gets the site's prefix (one %s)."""
    return f"CASE WHEN left({column}, 1) = '/' THEN %s || {column} ELSE {column} END"


def _site(request) -> tuple[str, str]:
    """(scheme://host, scheme://host + MEDIA_URL): the absolute prefixes of the request's site."""
    site = request.build_absolute_uri("/")[:-1]
    media = settings.MEDIA_URL if settings.MEDIA_URL.startswith("/") else "/" + settings.MEDIA_URL
    return site, site + media


REPORT_COLUMNS = (
    "service_code", "status", "status_notes", "description", "priority", "requested_at", "expected_at", "closed_at",
    "duplicate_of_id", "pju_id", "road_id", "snap_distance_m", "work_order_id", "proposal_id", "kecamatan_id",
    "kelurahan_id", "address_string", "media_url", "channel", "email", "first_name", "last_name", "phone",
    "account_id", "device_id",
)


def _report_spec(request) -> FeatureSpec:
    """A report as a Feature for the map layer and the dispatcher: its status follows the report it
    duplicates (`d`), URLs are absolute (the request's site), times in the city's zone. `contact`
    (last, no parameters) is dropped for everyone but dispatchers."""
    site, media = _site(request)
    tz = settings.TIME_ZONE
    photos, areas = ReportPhoto._meta.db_table, Area._meta.db_table
    names = " ".join("WHEN %s THEN %s" for _ in SERVICES)
    status = "coalesce(d.status, t.status)"
    properties = (
        ("service_code", "t.service_code"),
        ("service_name", f"CASE t.service_code {names} END"),
        ("status", status),
        ("status_notes", "CASE WHEN d.status = 'closed' THEN d.status_notes ELSE t.status_notes END"),
        ("description", "t.description"), ("priority", "t.priority"),
        ("requested_datetime", _iso_sql("t.requested_at")), ("expected_datetime", _iso_sql("t.expected_at")),
        ("closed_datetime", _iso_sql("t.closed_at")),
        ("overdue", f"{status} = 'open' AND t.expected_at < now()"),
        ("duplicate_of", "t.duplicate_of_id"), ("duplicates", "t.priority - 1"),
        ("pju", "t.pju_id"), ("road", "t.road_id"), ("snap_distance_m", "t.snap_distance_m"), ("work_order", "t.work_order_id"),
        ("work_order_status", "wo.status"), ("proposal", "t.proposal_id"), ("kecamatan", "k.code"), ("kelurahan", "kl.code"),
        ("address", "t.address_string"),
        ("photos", f"(SELECT coalesce(json_agg(%s || p.image ORDER BY p.id), '[]'::json) FROM {photos} p WHERE p.report_id = t.id)"),
        ("media_url", f"CASE WHEN t.status = 'closed' AND t.media_url <> '' THEN {_absolute_sql('t.media_url')} "
                      f"WHEN ph.image IS NOT NULL THEN %s || ph.image ELSE {_absolute_sql('t.media_url')} END"),
        ("channel", "t.channel"),
        ("contact", "json_build_object('email', t.email, 'first_name', t.first_name, 'last_name', t.last_name, "
                    "'phone', t.phone, 'account_id', t.account_id, 'device_id', t.device_id)"),
    )
    params = (*(v for s in SERVICES.values() for v in (s.code, s.name)), tz, tz, tz, tz, tz, tz, media, site, media, site)
    return FeatureSpec(
        columns=REPORT_COLUMNS, properties=properties, params=params,
        joins=(f" LEFT JOIN {Report._meta.db_table} d ON d.id = t.duplicate_of_id"
               f" LEFT JOIN {WorkOrder._meta.db_table} wo ON wo.id = t.work_order_id"
               f" LEFT JOIN {areas} k ON k.id = t.kecamatan_id LEFT JOIN {areas} kl ON kl.id = t.kelurahan_id"
               f" LEFT JOIN LATERAL (SELECT image FROM {photos} WHERE report_id = t.id ORDER BY id LIMIT 1) ph ON true"),
    )


REPORT_ORDER = ("-requested_at", "-id")
_REPORT_ORDER_SQL = "t.requested_at DESC, t.id DESC"  # the features' order over `t` (REPORT_ORDER)


def _report_features(request, *, with_contact: bool) -> FeatureSpec:
    spec = _report_spec(request)
    return spec if with_contact else spec.select(tuple(name for name, _ in spec.properties if name != "contact"))


def report_page(qs: QuerySet[Report], request, *, with_contact: bool, limit: int, offset: int = 0) -> Page:
    """One page of `qs` (report_list) as GeoJSON Features, newest first."""
    return feature_page(_report_features(request, with_contact=with_contact), qs, limit=limit, offset=offset,
                        order_by=REPORT_ORDER, order=_REPORT_ORDER_SQL)


def report_feature_text(pk: int, request, *, with_contact: bool) -> str | None:
    """One report as a GeoJSON Feature (text), or None."""
    return feature_text(_report_features(request, with_contact=with_contact), Report.objects.filter(pk=pk))


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


def _proposal_spec() -> FeatureSpec:
    """A citizens' proposal (pju_usulan) as a Feature, with the reports that asked for it."""
    tz = settings.TIME_ZONE
    areas = Area._meta.db_table
    return FeatureSpec(
        columns=("citizens", "status", "road_id", "kecamatan_id", "kelurahan_id", "created_at", "updated_at"),
        properties=(
            ("citizens", "t.citizens"), ("status", "t.status"), ("road", "t.road_id"), ("road_name", "r.name"),
            ("kecamatan", "k.code"), ("kelurahan", "kl.code"),
            ("created_at", _iso_sql("t.created_at")), ("updated_at", _iso_sql("t.updated_at")),
            ("reports", f"(SELECT coalesce(json_agg(x.id ORDER BY x.id), '[]'::json) FROM {Report._meta.db_table} x "
                        f"WHERE x.proposal_id = t.id)"),
        ),
        params=(tz, tz, tz, tz),
        joins=(f" LEFT JOIN {RoadSegment._meta.db_table} r ON r.id = t.road_id"
               f" LEFT JOIN {areas} k ON k.id = t.kecamatan_id LEFT JOIN {areas} kl ON kl.id = t.kelurahan_id"),
    )


def proposal_page(qs: QuerySet[CitizenProposal], *, limit: int, offset: int = 0) -> Page:
    """One page of `qs` (proposal_list) as GeoJSON Features, most citizens first."""
    return feature_page(_proposal_spec(), qs, limit=limit, offset=offset, order_by=("-citizens", "id"), order="t.citizens DESC, t.id")


def jurisdictions() -> list[str]:
    return list(Area.objects.filter(level="kabupaten_kota").values_list("code", flat=True))

