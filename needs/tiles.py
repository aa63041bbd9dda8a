"""Vector tile layers of the needs app, registered in the layers app's
registry (one endpoint /tiles/{layer}/{z}/{x}/{y}.pbf). The tables carry the
revision trigger (needs/migrations/0002), so tiles change with every run."""
from geo_platform import access
from layers.tiles import POINT_CAP, ZoomRule, TileLayer, register_tile_layer
from needs.models import LightingGap, ProposedPJU, WorkOrder

GAP_DETAIL = ("road_id", "road_class", "kind", "start_m", "end_m", "length_m", "gap_m", "proposed_count", "spacing_m", "priority")
PROPOSED_DETAIL = ("road_id", "road_class", "chainage_m", "side", "spacing_m", "priority")
WORK_ORDER_DETAIL = ("kind", "status", "title", "priority", "assigned_to_id")

LIGHTING_GAPS = register_tile_layer(TileLayer(
    name="lighting_gaps", table=LightingGap._meta.db_table, detail_zoom=13, where="true",
    description="Under-lit road by kind: missing (new poles), weak (lamp upgrades), dark (repairs) (SPEC §5)",
    rules=(
        ZoomRule(8, columns=("road_class", "kind", "length_m"), where="t.road_class IN ('arterial', 'collector')", simplify=4, cap=20_000),
        ZoomRule(11, columns=("road_class", "kind"), simplify=4, cap=20_000),
        ZoomRule(12, columns=("road_class", "kind", "length_m"), simplify=2, cap=30_000),
        ZoomRule(13, columns=GAP_DETAIL),
    ),
    fields={c: c for c in GAP_DETAIL},
))
PROPOSED_PJU = register_tile_layer(TileLayer(
    name="proposed_pju", table=ProposedPJU._meta.db_table, detail_zoom=14, where="true",
    description="Proposed PJU (SPEC §5)",
    rules=(
        ZoomRule(10, cluster_extent=256, cap=POINT_CAP),
        ZoomRule(12, columns=("road_class", "side"), cap=POINT_CAP),
        ZoomRule(14, columns=PROPOSED_DETAIL),
    ),
    fields={"count": "poles in the cell (z10–11)", **{c: c for c in PROPOSED_DETAIL}},
))
WORK_ORDERS = register_tile_layer(TileLayer(
    name="work_orders", table=WorkOrder._meta.db_table, detail_zoom=10, where="true",
    description="Work orders (open, assigned, in progress, done, rejected)",
    rules=(ZoomRule(10, columns=WORK_ORDER_DETAIL),),
    fields={c: c for c in WORK_ORDER_DETAIL},
    policy=access.LOGIN_ONLY,  # issue 12: work orders are never public (SPEC §4), like /api/work-orders/
))
