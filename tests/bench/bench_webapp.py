"""Pages: the planner map /map/ and its search, on the demo data.

- /map/ through Django (layer list, kecamatan extents, data extent, folium
  render) vs the floor: folium rendering the same map and plugins with a
  fixed configuration (no database), interleaved over the rounds.
- /map/search/?q= through Django vs the floor: the same two PostGIS queries
  (road names with their extent, PJU codes) as raw SQL on a cursor."""
from __future__ import annotations

import statistics
import time

ROUNDS = 25
QUERIES = ("raya", "jalan", "sudirman", "pju-1", "gang")


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run() -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from webapp.maps import planner_map_html

    client = Client()
    rows = []
    with override_settings(BASEMAP_URL="", ALLOWED_HOSTS=["testserver"]):
        client.get("/map/")  # warm: imports, templates, translations
        response = client.get("/map/")
        page_bytes = len(response.content)
        # The floor's configuration: what the view computed, frozen.
        from webapp import labels, selectors

        fixed = {
            "layers": selectors.map_layer_list(), "kecamatan": selectors.kecamatan_list(), "bounds": selectors.initial_bounds(),
            "strings": labels.strings(labels.UI), "codes": labels.code_labels(), "fields": labels.strings(labels.FIELD_NAMES),
            "colours": {}, "urls": {}, "basemap": False, "csrf_token": "x", "language": {}, "user": "",
        }
        ours, floor = [], []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            planner_map_html(config=fixed, basemap_url="", title="Peta", lang="id")
            t1 = time.perf_counter()
            client.get("/map/")
            t2 = time.perf_counter()
            floor.append(t1 - t0)
            ours.append(t2 - t1)
        rows.append({
            "name": "/map/ page (folium, config from PostGIS)",
            "ours": f"{_median_ms(ours):.1f} ms median",
            "floor": f"{_median_ms(floor):.1f} ms (folium render, fixed config)",
            "ratio": _median_ms(ours) / _median_ms(floor),
            "notes": f"{page_bytes / 1024:.0f} KB HTML, {len(fixed['kecamatan'])} kecamatan; {ROUNDS} interleaved rounds",
        })

        road_sql = ("SELECT name, ST_Extent(geom), count(*) FROM layers_roadsegment WHERE deleted_at IS NULL "
                    "AND UPPER(name::text) LIKE UPPER(%s) GROUP BY name ORDER BY name LIMIT 10")
        pju_sql = ("SELECT id, code, status, ST_Centroid(geom) FROM layers_streetlight WHERE deleted_at IS NULL "
                   "AND UPPER(code::text) LIKE UPPER(%s) ORDER BY code LIMIT 10")
        ours, floor = [], []
        for _ in range(max(ROUNDS // len(QUERIES), 3)):
            for q in QUERIES:
                t0 = time.perf_counter()
                with connection.cursor() as cur:
                    cur.execute(road_sql, [f"%{q}%"])
                    cur.fetchall()
                    cur.execute(pju_sql, [f"%{q}%"])
                    cur.fetchall()
                t1 = time.perf_counter()
                client.get("/map/search/", {"q": q})
                t2 = time.perf_counter()
                floor.append(t1 - t0)
                ours.append(t2 - t1)
        rows.append({
            "name": "/map/search/?q= (road names + PJU codes)",
            "ours": f"{_median_ms(ours):.1f} ms median",
            "floor": f"{_median_ms(floor):.1f} ms (same two queries, raw SQL)",
            "ratio": _median_ms(ours) / _median_ms(floor),
            "notes": f"queries {', '.join(QUERIES)}; substring search without a trigram index (sequential scans)",
        })
    return rows
