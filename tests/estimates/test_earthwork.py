"""Earthwork on real GeoTIFF DEMs built from the closed-form cases of
DOMAIN §3 (expected volumes worked out here from the formulas, never from
our output): grid within 0.5 %, average end area with its known method
error s·L·Δh²/(6n²), prismoidal exact; bad input is a clear 4xx."""
import numpy as np
import pytest

from imagery.services import imagery_ingest
from tests.estimates.conftest import to_lonlat, write_plane_dem

pytestmark = pytest.mark.django_db

# Corridor in Kota Tangerang's UTM zone (48S): local x from the alignment start (east), y north of it.
X0, YC = 680_000.0, 9_316_600.0
START = (X0 + 20.0, YC)
L, W = 100.0, 10.0


def dem(tmp_path, name, local_z):
    """DEM over x ∈ [−20, 140], y ∈ [−45, 45] m around the corridor, 1 m cells on the corridor grid."""
    path = write_plane_dem(tmp_path / f"{name}.tif", lambda X, Y: local_z(X - START[0], Y - YC),
                           x0=X0, y0=YC + 45, width=160, height=90)
    return imagery_ingest(source=path, kind="dem").imagery


def alignment():
    return {"type": "LineString", "coordinates": to_lonlat([START, (START[0] + L, YC)])}


def post(client, img, **body):
    """DOMAIN §3's plain corridor (no box, crossfall or topsoil; vertical walls) unless the test says otherwise."""
    body.setdefault("alignment", alignment())
    body.setdefault("width_m", W)
    for key, value in (("crossfall_percent", 0), ("topsoil_m", 0), ("pavement_depth_m", 0)):
        body.setdefault(key, value)
    if "cut_slope" not in body and "fill_slope" not in body:
        body.setdefault("side_slope", 0)
    return client.post(f"/api/imagery/{img.pk}/earthwork/", body, content_type="application/json")


def within(value, expected, scale, rel=0.005):
    return abs(value - expected) <= rel * scale


def test_case_a_level_grade_vertical_walls(client, tmp_path):
    z0, g = 50.0, 0.02
    img = dem(tmp_path, "a", lambda x, y: z0 + g * x)
    exact = W * g * L**2 / 2  # 1000 m³
    for method, interval in (("grid", None), ("average_end_area", 100), ("average_end_area", 10), ("prismoidal", 25)):
        body = {"design": {"start_elevation": z0, "grade_percent": 0}, "side_slope": 0, "method": method}
        if interval:
            body["station_interval_m"] = interval
        r = post(client, img, **body)
        assert r.status_code == 200, r.content
        out = r.json()
        assert out["length_m"] == pytest.approx(L, abs=1e-6)
        assert within(out["cut_m3"], exact, exact), (method, out["cut_m3"])
        assert out["fill_m3"] == pytest.approx(0, abs=1e-6)
        assert out["net_m3"] == pytest.approx(out["cut_m3"] - out["fill_m3"])
        if method != "grid":  # AEA is exact for a linear A(x)
            assert out["cut_m3"] == pytest.approx(exact, rel=1e-6)
        # bulking: 20 % swell, fill compacted to 0.90 of bank volume (DOMAIN §3)
        assert out["cut_loose_m3"] == pytest.approx(out["cut_m3"] * 1.2)
        assert out["balance_bank_m3"] == pytest.approx(out["cut_m3"])
    # priced with the active list: excavation (3.1.(1)) of the cut, embankment (3.2.(1a)) of the fill
    from estimates.models import UnitPrice

    galian = UnitPrice.objects.get(price_list__is_active=True, code="3.1.(1)").price
    bill = out["bill"]
    assert bill["items"][0]["code"] == "3.1.(1)" and bill["items"][0]["quantity"] == pytest.approx(out["cut_m3"], abs=0.006)
    assert bill["items"][0]["amount"] == pytest.approx(float(galian) * round(out["cut_m3"], 2), abs=0.01)
    assert bill["total"] == pytest.approx(bill["subtotal"] * 1.15 * 1.11, abs=0.05)


def test_swell_and_shrinkage_can_be_set(client, tmp_path):
    img = dem(tmp_path, "fill", lambda x, y: np.full_like(x, 49.0))  # 1 m of fill everywhere
    r = post(client, img, design={"start_elevation": 50.0, "grade_percent": 0}, swell=0.1, shrinkage=0.8, station_interval_m=50)
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["fill_m3"] == pytest.approx(W * L * 1.0, rel=1e-6)
    assert out["fill_bank_m3"] == pytest.approx(W * L / 0.8, rel=1e-6)
    assert out["balance_bank_m3"] == pytest.approx(-W * L / 0.8, rel=1e-6)
    r = post(client, img, design={"start_elevation": 50.0, "grade_percent": 0}, shrinkage=0.2)
    assert r.status_code == 400 and "shrinkage" in r.json()["errors"]


def test_case_b_trapezoid_aea_method_error_and_prismoidal_exact(client, tmp_path):
    z0, s, g = 50.0, 2.0, 0.02  # depth h = 0.02 x: 0 → 2 m
    img = dem(tmp_path, "b", lambda x, y: z0 + g * x)
    exact = W * g * L**2 / 2 + s * g**2 * L**3 / 3  # ∫(b h + s h²) dx = 1000 + 266.667
    assert exact == pytest.approx(1266.667, abs=1e-3)
    design = {"start_elevation": z0, "grade_percent": 0}
    for n in (1, 5, 10):
        r = post(client, img, design=design, side_slope=s, method="average_end_area", station_interval_m=L / n)
        assert r.status_code == 200, r.content
        aea_error = s * L * (g * L) ** 2 / (6 * n**2)  # s·L·Δh²/(6n²), Δh = total depth change
        assert r.json()["cut_m3"] == pytest.approx(exact + aea_error, rel=1e-6)
    assert [round(exact + s * L * (g * L) ** 2 / (6 * n**2), 1) for n in (1, 5, 10)] == [1400.0, 1272.0, 1268.0]

    r = post(client, img, design=design, side_slope=s, method="prismoidal", station_interval_m=50)
    assert r.status_code == 200
    assert r.json()["cut_m3"] == pytest.approx(exact, rel=1e-6)

    r = post(client, img, design=design, side_slope=s, method="grid")
    assert r.status_code == 200
    out = r.json()
    assert within(out["cut_m3"], exact, exact), out["cut_m3"]
    # the last cross-section: depth 2 m, daylight at W/2 + s·h = 9 m each side, area b·h + s·h²
    last = out["stations"][-1]
    assert last["chainage_m"] == pytest.approx(L)
    assert last["cut_area_m2"] == pytest.approx(W * 2 + s * 4, rel=1e-6)
    assert last["reach_left_m"] == pytest.approx(9.0, abs=0.5) and last["reach_right_m"] == pytest.approx(9.0, abs=0.5)
    assert last["section"][0]["offset_m"] < -8.5 and last["section"][-1]["offset_m"] > 8.5
    assert min(p["design_m"] for p in last["section"]) == pytest.approx(z0)


@pytest.mark.parametrize("z0,cut,fill", [(101.0, 2000.0, 0.0), (100.0, 1000 + 5 / 48, 5 / 48)])
def test_case_c_tilted_plane_grid(client, tmp_path, z0, cut, fill):
    img = dem(tmp_path, f"c{int(z0)}", lambda x, y: z0 + 0.02 * x + 0.01 * y)
    r = post(client, img, design={"start_elevation": 100.0, "grade_percent": 0}, side_slope=0, method="grid")
    assert r.status_code == 200, r.content
    out = r.json()
    scale = max(cut, fill)
    assert within(out["cut_m3"], cut, scale) and within(out["fill_m3"], fill, scale), out
    # the 1 m grid itself: midpoint sums over cell centres, worked out here
    xc, yc = np.meshgrid(np.arange(100) + 0.5, np.arange(-5, 5) + 0.5)
    dz = z0 + 0.02 * xc + 0.01 * yc - 100.0
    assert out["cut_m3"] == pytest.approx(dz[dz > 0].sum(), abs=1e-6)
    assert out["fill_m3"] == pytest.approx(-dz[dz < 0].sum(), abs=1e-6)
    assert out["grid"]["cells"] == 1000


def test_design_grade_follows_the_chainage(client, tmp_path):
    """Ground level at 50 m, design rising 1 % from 49 m: cut 1 → 0 m over 100 m (vertical walls): W·L·1/2."""
    img = dem(tmp_path, "grade", lambda x, y: np.full_like(x, 50.0))
    r = post(client, img, design={"start_elevation": 49.0, "grade_percent": 1.0}, method="average_end_area", station_interval_m=10)
    assert r.status_code == 200
    out = r.json()
    assert out["cut_m3"] == pytest.approx(W * L * 1.0 / 2, rel=1e-6)
    assert out["design"]["end_elevation"] == pytest.approx(50.0)
    assert [s["design_m"] for s in out["stations"]][:3] == pytest.approx([49.0, 49.1, 49.2])


def test_bad_input_is_a_clear_4xx(client, tmp_path):
    img = dem(tmp_path, "bad", lambda x, y: 50.0 + 0.02 * x)
    design = {"start_elevation": 50.0, "grade_percent": 0}
    far = {"type": "LineString", "coordinates": [[110.0, -7.0], [110.001, -7.0]]}
    r = post(client, img, alignment=far, design=design)
    assert r.status_code == 400 and "outside the DEM" in r.json()["detail"] and "alignment" in r.json()["errors"]
    # half on the DEM: the corridor leaves it
    half_off = {"type": "LineString", "coordinates": to_lonlat([START, (START[0] + 400, YC)])}
    r = post(client, img, alignment=half_off, design=design)
    assert r.status_code == 400 and "leaves the DEM" in r.json()["detail"]
    r = post(client, img, width_m=0, design=design)
    assert r.status_code == 400 and "width_m" in r.json()["errors"]
    r = post(client, img, design=design, method="tin")
    assert r.status_code == 400 and "method" in r.json()["errors"]
    r = post(client, img, design={"grade_percent": 1})
    assert r.status_code == 400 and "design" in r.json()["errors"]
    r = post(client, img, alignment={"type": "Point", "coordinates": [106.6, -6.2]}, design=design)
    assert r.status_code == 400 and "alignment" in r.json()["errors"]
    r = client.post("/api/imagery/999999/earthwork/", {"alignment": alignment(), "width_m": W, "design": design}, content_type="application/json")
    assert r.status_code == 404


def test_steep_cross_slope_daylights_far_out(client, tmp_path):
    """Ground rising across at 0.3 (north), level along: with s = 2 the cut slope on the uphill side
    meets the ground at e = s·h/(1 − s·m) beyond the edge; AEA area checked against that closed form."""
    m, s, z0 = 0.3, 2.0, 50.0
    img = dem(tmp_path, "steep", lambda x, y: z0 + m * y)
    r = post(client, img, design={"start_elevation": z0, "grade_percent": 0}, side_slope=s, method="average_end_area",
             station_interval_m=50)
    assert r.status_code == 200, r.content
    sec = r.json()["stations"][1]
    h = m * W / 2  # cut depth at the uphill edge (left, +y)
    e = s * h / (1 - s * m)  # 3.75 m beyond the edge
    left_cut = (h / 2) * (W / 2) + h * e / 2  # triangle under the formation + slope triangle
    # downhill side: fill under the formation (triangle) and a fill slope to daylight
    e_fill = s * h / (1 - s * m)
    right_fill = (h / 2) * (W / 2) + h * e_fill / 2
    assert sec["cut_area_m2"] == pytest.approx(left_cut, rel=1e-3)
    assert sec["fill_area_m2"] == pytest.approx(right_fill, rel=1e-3)
    assert sec["reach_left_m"] == pytest.approx(W / 2 + e, abs=0.5)


def test_grid_slopes_stop_at_the_first_daylight(client, tmp_path):
    """Level ground 1 m above a level formation, with a 3 m high bank 12–20 m north of the axis:
    the cut slope (s = 2) daylights at 5 + 2 = 7 m, so the bank beyond is not cut."""
    img = dem(tmp_path, "bank", lambda x, y: 51.0 + np.where((y > 12) & (y < 20), 3.0, 0.0))
    exact = L * (W * 1.0 + 2.0 * 1.0**2)  # b·h + s·h² per metre, both sides
    for method, rel in (("average_end_area", 1e-3), ("grid", 0.005)):
        r = post(client, img, design={"start_elevation": 50.0, "grade_percent": 0}, side_slope=2, method=method, station_interval_m=20)
        assert r.status_code == 200, r.content
        assert r.json()["cut_m3"] == pytest.approx(exact, rel=rel), method


# ---------------------------------------------------------------- SPEC §6: box, crossfall, topsoil, default slopes, balance
def v2(client, img, **body):
    """The SPEC §6 corridor: defaults apply unless given."""
    body.setdefault("alignment", alignment())
    body.setdefault("width_m", W)
    return client.post(f"/api/imagery/{img.pk}/earthwork/", body, content_type="application/json")


def test_case_d_box_and_default_fill_slope_on_level_ground(client, tmp_path):
    # ground 49 m; finished level 50 m; box 0.5 m → formation 49.5 m: fill h = 0.5 m, default fill slope 1:1.5
    # A = W·h + s·h² = 10·0.5 + 1.5·0.25 = 5.375 m²; V = 537.5 m³ (constant section: AEA and prismoidal exact)
    img = dem(tmp_path, "d", lambda x, y: np.full_like(x, 49.0))
    for method in ("average_end_area", "prismoidal"):
        r = v2(client, img, design={"start_elevation": 50.0, "grade_percent": 0}, pavement_depth_m=0.5, crossfall_percent=0,
               topsoil_m=0, method=method, station_interval_m=25)
        assert r.status_code == 200, r.content
        out = r.json()
        assert out["fill_slope"] == 1.5 and out["cut_slope"] == 1.0  # SPEC §6 defaults
        assert out["fill_m3"] == pytest.approx(537.5, rel=1e-6) and out["cut_m3"] == pytest.approx(0, abs=1e-6)
    grid = v2(client, img, design={"start_elevation": 50.0, "grade_percent": 0}, pavement_depth_m=0.5, crossfall_percent=0,
              topsoil_m=0, method="grid").json()
    assert within(grid["fill_m3"], 537.5, 537.5, rel=0.02)


def test_case_e_crossfall_topsoil_and_template_box_in_fill(client, tmp_path):
    # ground 49 m, stripped 0.15 m → 48.85; finished 50 m with 3 % crossfall; FFF1 box = 0.04 + 0.06 + 0.40 = 0.50 m.
    # formation 49.5 − 0.03|o|: height 0.65 m at the crown, 0.50 m at the edges (o = 5 m).
    # A = ∫(0.65 − 0.03|o|)do over ±5 + s·e² = (6.5 − 0.75) + 1.5·0.25 = 6.125 m² → V = 612.5 m³.
    # topsoil over the footprint W + 2·s·e = 10 + 2·1.5·0.5 = 11.5 m: 0.15 · 11.5 · 100 = 172.5 m³.
    # balance: no cut; fill from borrow 612.5 m³ compacted = 612.5 / 0.90 = 680.556 bank m³; disposal (topsoil) 172.5 · 1.2 = 207 m³.
    img = dem(tmp_path, "e", lambda x, y: np.full_like(x, 49.0))
    for method in ("average_end_area", "prismoidal"):
        r = v2(client, img, design={"start_elevation": 50.0, "grade_percent": 0}, method=method, station_interval_m=25)
        assert r.status_code == 200, r.content
        out = r.json()
        assert (out["crossfall_percent"], out["topsoil_m"], out["template"]) == (3.0, 0.15, "FFF1")
        assert out["pavement_depth_m"] == pytest.approx(0.5, abs=1e-9)
        assert out["fill_m3"] == pytest.approx(612.5, rel=1e-4)
        assert out["topsoil_m3"] == pytest.approx(172.5, rel=2e-3)  # daylight interpolated between 0.5 m samples
        b = out["balance"]
        assert b["borrow_bank_m3"] == pytest.approx(612.5 / 0.9, rel=1e-4) and b["cut_reused_bank_m3"] == 0
        assert b["disposal_loose_m3"] == pytest.approx(172.5 * 1.2, rel=2e-3)
    codes = [i["code"] for i in out["bill"]["items"]]
    assert codes == ["3.1.(10)", "3.2.(1a)", "3.1.(9)"]  # topsoil, fill from borrow, disposal


def test_case_f_cut_with_box_crossfall_topsoil_and_default_cut_slope(client, tmp_path):
    # ground 51 m, stripped 50.85; formation 49.5 − 0.03|o|: depth 1.35 m at the crown, 1.50 m at the edges;
    # default cut slope 1:1: A = 10·1.35 + 0.03·25 + 1·1.5² = 13.5 + 0.75 + 2.25 = 16.5 m² → V = 1650 m³;
    # footprint 10 + 2·1·1.5 = 13 m → topsoil 195 m³; all cut is surplus: disposal (1650 + 195) · 1.2 = 2214 m³.
    img = dem(tmp_path, "f", lambda x, y: np.full_like(x, 51.0))
    out = v2(client, img, design={"start_elevation": 50.0, "grade_percent": 0}, pavement_depth_m=0.5, method="prismoidal",
             station_interval_m=25).json()
    assert out["cut_m3"] == pytest.approx(1650.0, rel=1e-4) and out["fill_m3"] == pytest.approx(0, abs=1e-6)
    assert out["topsoil_m3"] == pytest.approx(195.0, rel=2e-3)
    assert out["balance"]["surplus_cut_bank_m3"] == pytest.approx(1650.0, rel=1e-4)
    assert out["balance"]["disposal_loose_m3"] == pytest.approx((1650 + 195) * 1.2, rel=1e-3)


def test_case_b_with_a_box_and_with_the_default_cut_slope(client, tmp_path):
    # DOMAIN case B with a 0.5 m box: finished level z0 + 0.5 puts the formation where case B's design was → 1266.667 m³.
    # With the default cut slope 1:1 instead of 2: V = ∫(10·0.02x + 1·(0.02x)²)dx over 0..100 = 1000 + 133.333 = 1133.333 m³.
    z0 = 50.0
    img = dem(tmp_path, "b2", lambda x, y: z0 + 0.02 * x)
    base = dict(design={"start_elevation": z0 + 0.5, "grade_percent": 0}, pavement_depth_m=0.5, crossfall_percent=0, topsoil_m=0,
                method="prismoidal", station_interval_m=50)
    assert v2(client, img, side_slope=2, **base).json()["cut_m3"] == pytest.approx(1266.667, rel=1e-4)
    assert v2(client, img, **base).json()["cut_m3"] == pytest.approx(1133.333, rel=1e-4)


def test_cut_is_reused_as_fill_before_borrow(client, tmp_path):
    # ground 50 + 0.02(x − 50), level finished 50 m, vertical walls, no box: fill 250 m³ in the first half, cut 250 m³ in
    # the second (W·0.02·50²/2 each). Fill needs 250/0.9 = 277.78 bank m³: all 250 of cut reused (= 225 m³ compacted),
    # borrow 27.78 bank m³ (25 m³ compacted), nothing to dispose.
    img = dem(tmp_path, "mix", lambda x, y: 50.0 + 0.02 * (x - 50.0))
    out = post(client, img, design={"start_elevation": 50.0, "grade_percent": 0}, method="average_end_area", station_interval_m=10).json()
    assert out["cut_m3"] == pytest.approx(250.0, rel=1e-6) and out["fill_m3"] == pytest.approx(250.0, rel=1e-6)
    b = out["balance"]
    assert b["cut_reused_bank_m3"] == pytest.approx(250.0, rel=1e-6) and b["fill_from_cut_m3"] == pytest.approx(225.0, rel=1e-6)
    assert b["borrow_bank_m3"] == pytest.approx(250 / 0.9 - 250, rel=1e-6) and b["fill_from_borrow_m3"] == pytest.approx(25.0, rel=1e-6)
    assert b["surplus_cut_bank_m3"] == pytest.approx(0, abs=1e-9) and b["disposal_loose_m3"] == pytest.approx(0, abs=1e-9)
    items = {i["code"]: float(i["quantity"]) for i in out["bill"]["items"]}
    assert items == {"3.1.(1)": pytest.approx(250.0, abs=0.006), "3.2.(1b)": pytest.approx(225.0, abs=0.006),
                     "3.2.(1a)": pytest.approx(25.0, abs=0.006)}
