"""Report intake, duplicates, the work-order link, closing and reopening
(SPEC §8). Every write is one transaction; the asset row is locked first,
so two reports of one light arriving together still make one first report
and one duplicate."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from geo_platform.srid import STORAGE_SRID
from layers import services as layer_services
from layers.models import RoadSegment, StreetLight
from layers.importers.postgis import areas_at
from layers.selectors import LAYERS
from needs import selectors as need_selectors
from needs import work_orders
from needs.models import WorkOrder
from reports import images
from reports.catalogue import PJU_SNAP_M, REOPEN_DAYS, ROAD_SNAP_M, SERVICES, Service, sla
from reports.models import CitizenProposal, Open311Key, Report, ReportPhoto

PROPOSAL_JOIN_M = PJU_SNAP_M  # a pju_usulan within this of an open proposal joins it


class IntakeError(Exception):
    """A refused request: HTTP status, the offending parameter and a description
    (in the request's language: raised with gettext while the request's language is active)."""

    def __init__(self, status: int, param: str, description: str):
        super().__init__(description)
        self.status, self.param, self.description = status, param, description


@dataclass
class Submission:
    service_code: str
    lat: float | None = None
    lon: float | None = None
    pju_code: str = ""
    description: str = ""
    address_string: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    account_id: str = ""
    device_id: str = ""
    media_url: str = ""
    photos: list = field(default_factory=list)
    channel: str = "api"
    api_key: Open311Key | None = None
    client_address: str | None = None
    user: object = None


# --- abuse limits -------------------------------------------------------------


def _limits() -> tuple[int, int]:
    return int(getattr(settings, "REPORT_RATE_LIMIT", 10)), int(getattr(settings, "REPORT_RATE_WINDOW", 3600))


def _hit(key: str, window: int) -> int:
    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return 1


def rate_check(*, address: str | None, device: str | None) -> None:
    """REPORT_RATE_LIMIT reports per REPORT_RATE_WINDOW seconds per client
    address and per device (the page's device id); 429 beyond. Counted in the
    "default" cache (shared only when that cache is, e.g. Redis)."""
    limit, window = _limits()
    messages = {
        "address": _("too many reports from this address: at most %(limit)s per %(minutes)s minutes; try again later"),
        "device": _("too many reports from this device: at most %(limit)s per %(minutes)s minutes; try again later"),
    }
    for kind, value in (("address", address), ("device", device)):
        if value and _hit(f"report-rate:{kind}:{value}", window) > limit:
            raise IntakeError(429, kind, messages[kind] % {"limit": limit, "minutes": window // 60})


# --- snapping -----------------------------------------------------------------


def nearest(model, lon: float, lat: float, radius_m: float) -> tuple[int, float] | None:
    """(id, metres) of the live asset of `model` nearest to the point within
    `radius_m` metres on the spheroid, or None. The geometry GiST index picks
    candidates inside the bounding box of a geography buffer (metres, no
    degree arithmetic); geography distances decide."""
    table = model._meta.db_table
    sql = f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%s, %s), %s) AS g)
        SELECT t.id, ST_Distance(t.geom::geography, p.g::geography) AS d
        FROM {table} t, p
        WHERE t.deleted_at IS NULL
          AND t.geom && ST_Buffer(p.g::geography, %s)::geometry
          AND ST_DWithin(t.geom::geography, p.g::geography, %s)
        ORDER BY d, t.id LIMIT 1
    """
    with connection.cursor() as cur:
        cur.execute(sql, [lon, lat, STORAGE_SRID, radius_m * 1.05 + 1.0, radius_m])
        row = cur.fetchone()
    return (row[0], float(row[1])) if row else None


def _distance_m(model, pk: int, lon: float, lat: float) -> float:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), %s)::geography) FROM {model._meta.db_table} WHERE id = %s",
            [lon, lat, STORAGE_SRID, pk],
        )
        return float(cur.fetchone()[0])


# --- intake -------------------------------------------------------------------


def _service(code: str) -> Service:
    service = SERVICES.get(code or "")
    if service is None:
        raise IntakeError(404, "service_code", _("service_code %(code)r not found; see services.json") % {"code": code})
    return service


def _location(sub: Submission, service: Service) -> tuple[Point, StreetLight | None]:
    pju = None
    if sub.pju_code:
        if not service.has_pju_code:
            raise IntakeError(400, "attribute[pju_code]", _("pju_code does not apply to %(service)s") % {"service": service.code})
        pju = StreetLight.objects.filter(code=sub.pju_code, deleted_at__isnull=True).order_by("id").first()
        if pju is None:
            raise IntakeError(400, "attribute[pju_code]", _("no PJU with code %(code)r") % {"code": sub.pju_code})
    if sub.lat is None or sub.lon is None:
        if pju is not None:
            return Point(pju.geom.x, pju.geom.y, srid=STORAGE_SRID), pju
        raise IntakeError(400, "lat", _("a location is required: lat and long (or attribute[pju_code] for a light)"))
    if not (-90 <= sub.lat <= 90 and -180 <= sub.lon <= 180):
        raise IntakeError(400, "lat", _("lat/long (%(lat)s, %(lon)s) is not a position on Earth") % {"lat": sub.lat, "lon": sub.lon})
    return Point(sub.lon, sub.lat, srid=STORAGE_SRID), pju


def report_submit(*, sub: Submission) -> Report:
    """A new report: validated, photos re-encoded, snapped to its asset,
    joined to the open report of the same asset and service or routed to a
    work order / Musrenbang proposal. IntakeError for anything refused
    (nothing written)."""
    service = _service(sub.service_code)
    if sub.media_url and not sub.media_url.startswith(("https://", "http://")):
        raise IntakeError(400, "media_url", _("media_url must be an http(s) URL"))
    point, pju = _location(sub, service)
    encoded = []
    for upload in sub.photos:
        try:
            encoded.append(images.reencode(upload))
        except images.BadImage as exc:
            raise IntakeError(400, "media", str(exc)) from None
    if sub.channel == "web" or sub.device_id:
        rate_check(address=sub.client_address if sub.channel == "web" else None, device=sub.device_id or None)
    with transaction.atomic():
        report = Report(
            service_code=service.code, description=sub.description[:5000], address_string=sub.address_string[:500],
            media_url=sub.media_url[:1000], geom=point, email=sub.email, first_name=sub.first_name,
            last_name=sub.last_name, phone=sub.phone, account_id=sub.account_id, device_id=sub.device_id,
            client_address=sub.client_address, channel=sub.channel, api_key=sub.api_key,
        )
        _snap(report, service, pju)
        report.expected_at = timezone.now() + sla(service.code)
        report.save()
        _attach(report, service, user=sub.user)
        for content, width, height in encoded:
            ReportPhoto.objects.create(report=report, image=content, width=width, height=height)
    return report


def _snap(report: Report, service: Service, pju: StreetLight | None) -> None:
    lon, lat = report.geom.x, report.geom.y
    if service.asset == "pju":
        if pju is not None:
            report.pju, report.snap_distance_m = pju, _distance_m(StreetLight, pju.pk, lon, lat)
        elif hit := nearest(StreetLight, lon, lat, PJU_SNAP_M):
            report.pju_id, report.snap_distance_m = hit
    elif hit := nearest(RoadSegment, lon, lat, ROAD_SNAP_M):
        report.road_id, report.snap_distance_m = hit
    asset = report.pju if report.pju_id else report.road if report.road_id else None
    if asset is not None and asset.kecamatan_id:
        report.kecamatan_id, report.kelurahan_id = asset.kecamatan_id, asset.kelurahan_id
    else:
        report.kecamatan_id, report.kelurahan_id = areas_at(report.geom)


def _first_open(report: Report, service: Service, **asset) -> Report | None:
    return (
        Report.objects.filter(service_code=service.code, status="open", duplicate_of__isnull=True, **asset)
        .exclude(pk=report.pk).order_by("requested_at", "id").first()
    )


def _join(report: Report, first: Report) -> None:
    """`report` duplicates `first`: its own id, the first's status, order and
    deadline; the first's priority (and its work order's) rises."""
    Report.objects.filter(pk=first.pk).update(priority=F("priority") + 1)
    if first.work_order_id:
        WorkOrder.objects.filter(pk=first.work_order_id).update(priority=F("priority") + 1)
    Report.objects.filter(pk=report.pk).update(
        duplicate_of=first, status=first.status, work_order=first.work_order_id, proposal=first.proposal_id,
        expected_at=first.expected_at, status_notes=f"Digabung dengan laporan #{first.pk} (aset dan layanan sama).",
    )
    report.refresh_from_db()


def _attach(report: Report, service: Service, *, user=None) -> None:
    if service.work_order_kind is None:
        _attach_proposal(report, service)
        return
    if report.pju_id:
        StreetLight.objects.select_for_update(no_key=True).get(pk=report.pju_id)  # serialise reports of one light
        first = _first_open(report, service, pju_id=report.pju_id)
    elif report.road_id:
        RoadSegment.objects.select_for_update(no_key=True).get(pk=report.road_id)
        first = _first_open(report, service, road_id=report.road_id)
    else:
        return  # not snapped: the dispatcher places it (listed as new)
    if first is not None:
        _join(report, first)
        return
    report.work_order = _work_order_for(report, service, user=user)
    report.save(update_fields=["work_order", "updated_at"])


def _work_order_for(report: Report, service: Service, *, user=None) -> WorkOrder:
    """The active work order on the asset (of any origin: a planner, a sensor
    alarm, an earlier report) with its priority raised, else a new one on the
    need this report opens (the PJU off/damaged, the road damaged)."""
    actor = user if user is not None and getattr(user, "is_authenticated", False) else None
    # One intake at a time opens or joins orders: an order on a light also
    # references its road (deferred FK check at commit) while a road report
    # locks that road to mark it damaged; both write the work-order table.
    # Taken in any other order those two deadlock.
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('reports.work_order_route'))")

    def mark_asset_broken() -> None:  # the need this report opens: the light off/damaged, the road damaged
        if report.pju_id:
            pju = StreetLight.objects.get(pk=report.pju_id)
            # "damaged" outranks "off"
            if pju.status not in need_selectors.BROKEN_STATUSES or (service.pju_status == "damaged" and pju.status != "damaged"):
                layer_services.feature_update(spec=LAYERS["pju"], pk=pju.pk, data={"status": service.pju_status}, version=pju.version, user=actor, needs_later=True)
        else:
            road = RoadSegment.objects.get(pk=report.road_id)
            if not need_selectors.damaged_road_list().filter(pk=road.pk).exists():
                layer_services.feature_update(spec=LAYERS["roads"], pk=road.pk, data={"condition": "light_damage"}, version=road.version, user=actor, needs_later=True)

    order, _joined = work_orders.work_order_open_or_join(
        kind=service.work_order_kind, target=report.pju_id or report.road_id, user=actor, priority_step=1,
        before_open=mark_asset_broken, notes=f"Laporan warga #{report.pk} ({service.name}): {report.description}"[:2000],
    )
    return order


def _attach_proposal(report: Report, service: Service) -> None:
    lon, lat = report.geom.x, report.geom.y
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('reports.citizen_proposal'))")  # one proposal per place
    hit = _nearest_proposal(lon, lat)
    if hit is not None:
        proposal = CitizenProposal.objects.select_for_update(no_key=True).get(pk=hit)
        CitizenProposal.objects.filter(pk=proposal.pk).update(citizens=F("citizens") + 1, updated_at=timezone.now())
        first = _first_open(report, service, proposal_id=proposal.pk)
        if first is not None:
            _join(report, first)
            return
    else:
        proposal = CitizenProposal.objects.create(
            road_id=report.road_id, geom=report.geom, kecamatan_id=report.kecamatan_id, kelurahan_id=report.kelurahan_id,
        )
    report.proposal = proposal
    report.save(update_fields=["proposal", "updated_at"])


def _nearest_proposal(lon: float, lat: float) -> int | None:
    table = CitizenProposal._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"""WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%s, %s), %s) AS g)
                SELECT t.id FROM {table} t, p
                WHERE t.status = 'open' AND t.geom && ST_Buffer(p.g::geography, %s)::geometry
                  AND ST_DWithin(t.geom::geography, p.g::geography, %s)
                ORDER BY ST_Distance(t.geom::geography, p.g::geography), t.id LIMIT 1""",
            [lon, lat, STORAGE_SRID, PROPOSAL_JOIN_M * 1.05 + 1.0, PROPOSAL_JOIN_M],
        )
        row = cur.fetchone()
    return row[0] if row else None


# --- the loop -----------------------------------------------------------------


def media_path(photo) -> str:
    media = settings.MEDIA_URL if settings.MEDIA_URL.startswith("/") else "/" + settings.MEDIA_URL
    return media + photo.image.name


def reports_close_for_order(order: WorkOrder) -> int:
    """A work order done (or rejected) closes every open report joined to it:
    `status_notes` from the officer's closing note, `media_url` the closing photo."""
    if order.status == "done":
        notes = order.closing_note.strip() or "Perbaikan selesai."
        media = media_path(order.closing_photo) if order.closing_photo_id else ""
    elif order.status == "rejected":
        notes, media = f"Ditolak: {order.reject_reason}".strip(), ""
    else:
        return 0
    return Report.objects.filter(work_order=order, status="open").update(
        status="closed", status_notes=notes, media_url=media, closed_at=timezone.now(), updated_at=timezone.now(),
    )


def can_reopen(report: Report) -> bool:
    return report.status == "closed" and report.closed_at is not None and timezone.now() - report.closed_at <= timedelta(days=REOPEN_DAYS)


@transaction.atomic
def report_reopen(*, report: Report, user=None, note: str = "") -> Report:
    """Within REOPEN_DAYS of closing, a report opens again: a new deadline and
    a new (or the active) work order on its asset."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.status != "closed":
        raise IntakeError(409, "status", _("report %(id)s is still open") % {"id": report.pk})
    if not can_reopen(report):
        raise IntakeError(409, "status", _("report %(id)s was closed more than %(days)s days ago: send a new report") % {"id": report.pk, "days": REOPEN_DAYS})
    service = SERVICES[report.service_code]
    report.status, report.reopened_at, report.closed_at, report.media_url = "open", timezone.now(), None, ""
    report.duplicate_of, report.work_order = None, None
    report.status_notes = f"Dibuka kembali: {note}".strip() if note else "Dibuka kembali oleh pelapor."
    report.expected_at = timezone.now() + sla(service.code)
    report.save()
    _attach(report, service, user=user)
    report.refresh_from_db()
    return report


# --- API keys -----------------------------------------------------------------


def open311_key_create(*, name: str, user=None) -> Open311Key:
    return Open311Key.objects.create(name=name, created_by=user)


def open311_key_lookup(key: str) -> Open311Key | None:
    if not key:
        return None
    return Open311Key.objects.filter(key=key, active=True).first()
