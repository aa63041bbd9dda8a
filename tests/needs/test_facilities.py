"""import_facilities: OSM amenities counted independently with pyosmium."""
import json

import osmium
import pytest
from django.core.management import CommandError, call_command

from needs.facilities import AMENITY_KIND
from needs.models import Facility
from tests.needs.support import DEMO

pytestmark = pytest.mark.django_db
PBF = DEMO / "porto.osm.pbf"


class AmenityCounter(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.nodes, self.ways, self.relations, self.locations, self.area_ids = {}, {}, {}, {}, set()

    def node(self, n):
        kind = AMENITY_KIND.get(n.tags.get("amenity"))
        if kind:
            self.nodes[kind] = self.nodes.get(kind, 0) + 1
            self.locations[f"node/{n.id}"] = (n.location.lon, n.location.lat)

    def way(self, w):
        kind = AMENITY_KIND.get(w.tags.get("amenity"))
        if kind and w.is_closed():
            self.ways[kind] = self.ways.get(kind, 0) + 1
            self.area_ids.add(f"way/{w.id}")

    def relation(self, r):
        kind = AMENITY_KIND.get(r.tags.get("amenity"))
        if kind and r.tags.get("type") == "multipolygon":
            self.relations[kind] = self.relations.get(kind, 0) + 1
            self.area_ids.add(f"relation/{r.id}")


def test_osm_amenities_become_facilities_and_reimport_updates(capsys):
    counter = AmenityCounter()
    counter.apply_file(str(PBF))
    call_command("import_facilities", str(PBF), "--json")
    report = json.loads(capsys.readouterr().out)
    for kind in ("school", "market", "hospital"):
        nodes = Facility.objects.filter(kind=kind, source_id__startswith="node/").count()
        ways = Facility.objects.filter(kind=kind, source_id__startswith="way/").count()
        relations = Facility.objects.filter(kind=kind, source_id__startswith="relation/").count()
        assert nodes == counter.nodes.get(kind, 0)
        # GDAL may fold a tagged outer way into its multipolygon and drops relations the extract clips
        assert counter.ways.get(kind, 0) - counter.relations.get(kind, 0) <= ways <= counter.ways.get(kind, 0)
        assert relations <= counter.relations.get(kind, 0)
    areas = set(Facility.objects.exclude(source_id__startswith="node/").values_list("source_id", flat=True))
    assert areas <= counter.area_ids
    assert report["created"] == Facility.objects.count() > 100
    for ref, (lon, lat) in list(counter.locations.items())[:10]:
        f = Facility.objects.get(source_id=ref)
        assert (f.geom.x, f.geom.y) == pytest.approx((lon, lat), abs=1e-7)
    # areas are represented by a point inside them
    call_command("import_facilities", str(PBF), "--json")
    again = json.loads(capsys.readouterr().out)
    assert (again["created"], again["updated"]) == (0, report["created"])
    assert Facility.objects.count() == report["created"]


def test_a_file_without_kind_or_amenity_is_refused(tmp_path):
    path = tmp_path / "f.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.6, -6.2]}, "properties": {"name": "x"}}]}))
    with pytest.raises(CommandError, match="kind"):
        call_command("import_facilities", str(path))
    assert Facility.objects.count() == 0
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.6, -6.2]}, "properties": {"kind": "pasar"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.61, -6.21]}, "properties": {"kind": "market", "name": "Pasar Anyar"}}]}))
    call_command("import_facilities", str(path), "--source", "dinas")
    assert list(Facility.objects.values_list("kind", "name", "source")) == [("market", "Pasar Anyar", "dinas")]
