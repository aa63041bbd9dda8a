"""The Open311 services (SPEC §8), defined once: code, names (Bahasa
Indonesia first), the asset a report is snapped to, the work order kind it
opens and the default SLA. SLAs are configurable: OPEN311_SLA_DAYS (a JSON
object in the environment or a dict in settings) overrides per code."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

# SPEC §8 snapping distances (metres on the ground)
PJU_SNAP_M = 30.0
ROAD_SNAP_M = 20.0
REOPEN_DAYS = 7


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    name_en: str
    description: str
    group: str
    asset: str  # "pju" | "road"
    work_order_kind: str | None  # needs.WorkOrder kind opened; None → Musrenbang proposal
    pju_status: str | None  # status a report sets on the PJU (the need it opens)
    sla_days: float
    agency: str
    keywords: tuple[str, ...] = ()

    @property
    def has_pju_code(self) -> bool:
        return self.asset == "pju"


SERVICES: dict[str, Service] = {s.code: s for s in (
    Service("pju_mati", "PJU mati", "Street light out", "Lampu PJU tidak menyala pada malam hari.",
            "PJU", "pju", "broken_pju", "off", 3, "Dinas Perhubungan", ("lampu", "mati", "gelap")),
    Service("pju_rusak", "PJU rusak", "Street light or pole damaged", "Tiang, lengan, kap atau lampu PJU rusak/roboh.",
            "PJU", "pju", "broken_pju", "damaged", 7, "Dinas Perhubungan", ("tiang", "rusak", "roboh")),
    Service("pju_usulan", "Usulan PJU baru", "New street light requested", "Jalan gelap: usulan pemasangan PJU baru (Musrenbang).",
            "PJU", "road", None, None, 90, "Bappeda (Musrenbang)", ("usulan", "musrenbang", "gelap")),
    Service("jalan_rusak", "Jalan rusak", "Damaged road", "Jalan berlubang, retak atau amblas.",
            "Jalan", "road", "damaged_road", None, 14, "Dinas PUPR", ("lubang", "jalan", "aspal")),
)}


def sla_days(code: str) -> float:
    overrides = getattr(settings, "OPEN311_SLA_DAYS", None)
    if overrides is None:
        overrides = json.loads(os.environ.get("OPEN311_SLA_DAYS") or "{}")
    return float(overrides.get(code, SERVICES[code].sla_days))


def sla(code: str) -> timedelta:
    return timedelta(days=sla_days(code))
