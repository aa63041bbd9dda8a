"""Drive QGIS's own OAPIF provider (Debian's python3-qgis, QGIS 3.22) against
a running geo_platform: add the PJU collection with QGIS's default settings
(or restrictToRequestBBOX='1' = "only request features overlapping the view
extent") and fetch the features of a bbox, as the map canvas would.

Run with Debian's Python (not the venv): /usr/bin/python3 tests/bench/qgis_oapif.py
URL MINLON MINLAT MAXLON MAXLAT [restrict|default] [extra URI options] — prints one JSON line
{"seconds", "features", "layer_valid", "feature_count"}. Used by bench_bulk.py."""
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import QgsApplication, QgsFeatureRequest, QgsRectangle, QgsVectorLayer  # noqa: E402


def main() -> int:
    url, box, restrict = sys.argv[1], [float(v) for v in sys.argv[2:6]], len(sys.argv) > 6 and sys.argv[6] == "restrict"
    app = QgsApplication([], False)
    app.initQgis()
    uri = f"url='{url}' typename='pju'" + (" restrictToRequestBBOX='1'" if restrict else "") + "".join(f" {o}" for o in sys.argv[7:])
    t0 = time.perf_counter()
    layer = QgsVectorLayer(uri, "pju", "OAPIF")
    out = {"layer_valid": layer.isValid()}
    if layer.isValid():
        request = QgsFeatureRequest().setFilterRect(QgsRectangle(*box))
        out["features"] = sum(1 for _ in layer.getFeatures(request))
        out["feature_count"] = layer.featureCount()
    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = time.process_time()  # QGIS's CPU (all threads), for a loaded machine
    print(json.dumps(out))
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
