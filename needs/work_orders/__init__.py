"""Work orders: a need becomes a job for a field officer (SPEC §4).

errors.py (domain exceptions), permissions.py (who may do what, one table),
selectors.py (reads, GeoJSON through geo_platform.geojson), services.py (the
one open-or-join service and the one transition table). The names below are
the app's public surface (needs.apis, live.alarms, reports.services)."""
from needs.work_orders.errors import DuplicateOrder, IllegalTransition, NotAllowed, WorkOrderError  # noqa: F401
from needs.work_orders.permissions import is_officer, is_planner  # noqa: F401
from needs.work_orders.selectors import (  # noqa: F401
    ACTIVE,
    asset_distance_m,
    work_order_active_for,
    work_order_feature_text,
    work_order_get,
    work_order_list,
    work_order_page,
)
from needs.work_orders.services import (  # noqa: F401
    ACTIONS,
    TRANSITIONS,
    close_radius_m,
    work_order_assign,
    work_order_close,
    work_order_create,
    work_order_open_for_alarm,
    work_order_open_or_join,
    work_order_reject,
    work_order_start,
    work_order_transition,
    work_order_verify,
)
