"""Load test of the Open311 intake (issue 17): LOAD_REPORTS (default 10,000)
POST /open311/v2/requests.json with an api_key, in bursts of BURST requests
sent at once by CLIENTS client processes, against gunicorn (bench_load's
production-like server) on loopback. Reported: reports/s over the whole run,
p50/p99 response time, errors. Not part of the test suite.

Self-contained: it writes its own scene (a grid of PJU and a few roads, source
"bench_reports", where no city is) and its own key, and removes them and the
reports, work orders and proposals it caused at the end. The mix is what a
city sees: 70 % `pju_mati` near a random light (so many duplicates), 10 %
`pju_rusak`, 10 % `jalan_rusak` on a road, 10 % `pju_usulan`."""
from __future__ import annotations

import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORTS = int(os.environ.get("LOAD_REPORTS", 10_000))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", 8))
BURST = int(os.environ.get("LOAD_BURST", 200))
SOURCE = "bench_reports"
ORIGIN = (100.0, -60.0)  # open ocean: no real data nearby
GRID = 40  # 40 × 40 PJU, 25 m apart (≈ 1 km square)
STEP_DEG = 0.000225


def _scene() -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    from django.contrib.gis.geos import LineString, Point

    from layers.importers.postgis import refresh_measures
    from layers.models import RoadSegment, StreetLight

    _cleanup()
    x0, y0 = ORIGIN
    lamps = [StreetLight(code=f"B-{i}-{j}", status="working", source=SOURCE, source_id=f"{i}-{j}",
                         geom=Point(x0 + i * STEP_DEG, y0 + j * STEP_DEG, srid=4326)) for i in range(GRID) for j in range(GRID)]
    StreetLight.objects.bulk_create(lamps, batch_size=2000)
    roads = [RoadSegment(road_class="local", source=SOURCE, source_id=str(j), condition="good",
                         geom=LineString((x0, y0 + j * STEP_DEG * 4 + STEP_DEG / 2), (x0 + GRID * STEP_DEG, y0 + j * STEP_DEG * 4 + STEP_DEG / 2), srid=4326))
             for j in range(GRID // 4)]
    RoadSegment.objects.bulk_create(roads)
    refresh_measures(RoadSegment)
    lamp_xy = [(x0 + i * STEP_DEG, y0 + j * STEP_DEG) for i in range(GRID) for j in range(GRID)]
    road_xy = [(x0 + k * STEP_DEG, y0 + j * STEP_DEG * 4 + STEP_DEG / 2) for j in range(GRID // 4) for k in range(GRID)]
    return lamp_xy, road_xy


def _cleanup() -> None:
    from django.db.models import Q

    from layers.models import AuditLog, Photo, RoadSegment, StreetLight
    from needs.models import WorkOrder
    from reports.models import CitizenProposal, Open311Key, Report

    pju = list(StreetLight.objects.filter(source=SOURCE).values_list("id", flat=True))
    roads = list(RoadSegment.objects.filter(source=SOURCE).values_list("id", flat=True))
    Report.objects.filter(Q(pju_id__in=pju) | Q(road_id__in=roads) | Q(api_key__name=SOURCE)).delete()
    CitizenProposal.objects.filter(Q(road_id__in=roads) | Q(reports__isnull=True)).delete()
    WorkOrder.objects.filter(Q(pju_id__in=pju) | Q(road_id__in=roads)).delete()
    AuditLog.objects.filter(Q(layer="pju", object_id__in=pju) | Q(layer="roads", object_id__in=roads)).delete()
    Photo.objects.filter(Q(layer="pju", object_id__in=pju) | Q(layer="roads", object_id__in=roads)).delete()
    StreetLight.objects.filter(id__in=pju).delete()
    RoadSegment.objects.filter(id__in=roads).delete()
    Open311Key.objects.filter(name=SOURCE).delete()


def _bodies(lamp_xy, road_xy, key: str) -> list[dict]:
    rng = random.Random(17)
    bodies = []
    for n in range(REPORTS):
        roll = rng.random()
        if roll < 0.8:
            x, y = rng.choice(lamp_xy)
            code = "pju_mati" if roll < 0.7 else "pju_rusak"
        else:
            x, y = rng.choice(road_xy)
            code = "jalan_rusak" if roll < 0.9 else "pju_usulan"
        # a phone's GPS: a few metres off
        x += rng.uniform(-5, 5) * 1e-5
        y += rng.uniform(-5, 5) * 1e-5
        bodies.append({"api_key": key, "service_code": code, "lat": f"{y:.7f}", "long": f"{x:.7f}",
                       "description": f"bench {n}", "device_id": f"bench-{n % 4000}"})
    return bodies


def _client(args) -> tuple[list[float], int, list[str]]:
    base, bodies = args
    import requests

    session = requests.Session()
    latencies, ok, errors = [], 0, []
    for body in bodies:
        t0 = time.perf_counter()
        try:
            r = session.post(base + "/open311/v2/requests.json", data=body, timeout=120)
            good = r.status_code == 201
            if not good and len(errors) < 5:
                errors.append(f"{r.status_code} {r.text[:200]}")
        except Exception as exc:  # noqa: BLE001 - counted
            good = False
            if len(errors) < 5:
                errors.append(repr(exc))
        latencies.append((time.perf_counter() - t0) * 1000)
        ok += good
    return latencies, ok, errors


def run() -> list[dict]:
    from reports.models import Open311Key
    from tests.bench.bench_load import WORKERS, _free_port, _start_server

    lamp_xy, road_xy = _scene()
    key = Open311Key.objects.create(name=SOURCE).key
    bodies = _bodies(lamp_xy, road_xy, key)
    port = _free_port()
    proc = _start_server(port)
    base = f"http://127.0.0.1:{port}"
    latencies, ok, errors = [], 0, []
    try:
        t0 = time.perf_counter()
        with mp.get_context("fork").Pool(CLIENTS) as pool:
            for start in range(0, len(bodies), BURST):
                burst = bodies[start:start + BURST]
                shares = [burst[i::CLIENTS] for i in range(CLIENTS)]
                for lat, good, errs in pool.map(_client, [(base, s) for s in shares if s]):
                    latencies += lat
                    ok += good
                    errors += errs
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    from reports.models import Report

    made = Report.objects.filter(api_key__key=key)
    duplicates = made.filter(duplicate_of__isnull=False).count()
    orders = made.filter(work_order__isnull=False).values("work_order").distinct().count()
    total = made.count()
    _cleanup()
    q = statistics.quantiles(sorted(latencies), n=100)
    return [{
        "name": "Open311 POST requests.json under load",
        "ours": f"{len(latencies) / elapsed:.0f} reports/s, p50 {q[49]:.0f} ms, p99 {q[98]:.0f} ms, {len(latencies) - ok} errors / {len(latencies)}",
        "floor": "", "ratio": None,
        "notes": (f"{REPORTS:,} reports in bursts of {BURST} from {CLIENTS} client processes, gunicorn {WORKERS} sync workers, "
                  f"{GRID * GRID:,} PJU; stored {total:,} ({duplicates:,} duplicates joined, {orders:,} work orders); "
                  f"{elapsed:.0f} s; {os.cpu_count()} cores shared by server, clients and PostgreSQL"
                  + (f"; first errors: {errors[:3]}" if errors else "")),
    }]


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    for r in run():
        print(f"{r['name']}: {r['ours']}\n  {r['notes']}")


if __name__ == "__main__":
    main()
