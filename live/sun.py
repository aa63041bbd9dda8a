"""Day and night at a position, astronomically (astral: NOAA sunrise/sunset
with refraction), for the alarms and the energy estimate (SPEC §7)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone as dt_timezone
from functools import lru_cache

from astral import Observer
from astral.sun import elevation, sun

UTC = dt_timezone.utc


@lru_cache(maxsize=200_000)
def _events(lat: float, lon: float, day: date) -> tuple[tuple[datetime, str], ...]:
    """Sunrise/sunset events of UTC date `day` (none in polar day or night)."""
    obs = Observer(latitude=lat, longitude=lon)
    out = []
    for name in ("sunrise", "sunset"):
        try:
            out.append((sun(obs, date=day, tzinfo=UTC)[name], name))
        except ValueError:  # the sun does not rise or set that day
            pass
    return tuple(out)


def _around(lat: float, lon: float, t: datetime) -> list[tuple[datetime, str]]:
    lat, lon = round(lat, 2), round(lon, 2)  # ~1 km: well under a minute of sun time
    d = t.astimezone(UTC).date()
    events = {e for k in (-1, 0, 1, 2) for e in _events(lat, lon, d + timedelta(days=k))}
    return sorted(events)


_CELLS: dict[tuple[float, float], tuple[float, float]] = {}


def cell(lat: float, lon: float) -> tuple[float, float]:
    """The ~1 km square (0.01°) whose sun times a position uses; memoised (round() to
    decimals formats the float: ~1 µs, paid once per PJU instead of once per reading)."""
    key = (lat, lon)
    c = _CELLS.get(key)
    if c is None:
        if len(_CELLS) >= 500_000:
            _CELLS.clear()
        c = _CELLS[key] = (round(lat, 2), round(lon, 2))
    return c


def phase(lat: float, lon: float, t: datetime, margin: timedelta = timedelta(0)) -> str:
    """Cached per ~1 km and whole second (a city's PJU share a handful of keys per batch)."""
    return phase_in_cell(cell(lat, lon), t, margin)


def phase_in_cell(c: tuple[float, float], t: datetime, margin: timedelta = timedelta(0)) -> str:
    """phase() for a cell() already known."""
    return _phase(c[0], c[1], t.replace(microsecond=0) if t.microsecond else t, margin)


@lru_cache(maxsize=100_000)
def _phase(lat: float, lon: float, t: datetime, margin: timedelta) -> str:
    """"night" between sunset + margin and the next sunrise − margin, "day"
    between sunrise + margin and sunset − margin, else "twilight" (no alarm
    either way). Polar day/night by the sun's elevation."""
    events = _around(lat, lon, t)
    before = [e for e in events if e[0] <= t]
    after = [e for e in events if e[0] > t]
    if not before or not after:
        return "day" if elevation(Observer(lat, lon), t) > 0 else "night"
    (t0, last), (t1, _) = before[-1], after[0]
    if t0 + margin <= t <= t1 - margin:
        return "night" if last == "sunset" else "day"
    return "twilight"


def night_hours(lat: float, lon: float, start: datetime, end: datetime) -> float:
    """Hours between sunset and sunrise at (lat, lon) within [start, end)."""
    total = timedelta(0)
    t = start
    d = start.astimezone(UTC).date() - timedelta(days=1)
    events = []
    while datetime(d.year, d.month, d.day, tzinfo=UTC) <= end + timedelta(days=1):
        events.extend(_events(round(lat, 2), round(lon, 2), d))
        d += timedelta(days=1)
    events.sort()
    dark = phase(lat, lon, start) == "night"
    for when, name in events:
        if when <= start:
            continue
        if when >= end:
            break
        if dark:
            total += when - t
        t, dark = when, name == "sunset"
    if dark:
        total += end - t
    return total.total_seconds() / 3600.0
