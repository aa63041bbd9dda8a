"""Work orders below the views: the one transition table against SPEC §4's
states, the one permission table, the one open-or-join service shared by
planners, sensor alarms and citizens' reports, and the collection envelope
(`previous` on work orders too)."""
import pytest
from django.utils import translation

from needs import work_orders
from needs.models import WorkOrder
from tests.layers.api_support import user_in
from tests.needs.test_work_orders import people, scene  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

# SPEC §4 / docs/needs.md, written out by hand: the actions people may take from each state
LEGAL = {
    "open": {"assign", "reject"},
    "assigned": {"assign", "start", "reject"},
    "in_progress": {"close", "reject"},
    "done": set(),
    "rejected": set(),
    "verified": set(),
}


def test_the_transition_table_is_the_spec_state_machine(people, scene):
    planner, officer = people["planner"][0], people["officer"][0]
    order = work_orders.work_order_create(user=planner, kind="broken_pju", target=scene["lamps"][1].pk, assigned_to=officer)
    for state, legal in LEGAL.items():
        WorkOrder.objects.filter(pk=order.pk).update(status=state)
        order.refresh_from_db()
        assert set(work_orders.services.allowed_actions(order)) == legal, state
        for action in set(work_orders.ACTIONS) - legal:
            user = planner if action in ("assign", "reject") else officer
            data = {"assign": {"officer": officer}, "reject": {"reason": "x"}, "start": {},
                    "close": {"photo": None, "lon": 0.0, "lat": 0.0}}[action]
            with pytest.raises(work_orders.IllegalTransition) as caught:
                work_orders.work_order_transition(order=order, user=user, action=action, **data)
            with translation.override("en"):  # the English text (Bahasa Indonesia by default)
                assert caught.value.current == state and f"cannot {action}" in str(caught.value)
            after = WorkOrder.objects.get(pk=order.pk)
            assert (after.status, after.version) == (state, order.version)  # nothing written
    # done → verified only through telemetry, from done only
    WorkOrder.objects.filter(pk=order.pk).update(status="in_progress")
    order.refresh_from_db()
    with pytest.raises(work_orders.IllegalTransition):
        work_orders.work_order_verify(order=order)
    WorkOrder.objects.filter(pk=order.pk).update(status="done")
    order.refresh_from_db()
    assert work_orders.work_order_verify(order=order).status == "verified"


def test_the_permission_table(people, scene):
    planner, officer, other, analyst = (people[k][0] for k in ("planner", "officer", "other_officer", "analyst"))
    admin = user_in("planner", name="root")
    admin.is_superuser = True
    admin.save()
    order = work_orders.work_order_create(user=planner, kind="broken_pju", target=scene["lamps"][1].pk, assigned_to=officer)
    may = work_orders.permissions.may
    expected = {  # SPEC §4: planners (and admins) create, assign, reject; the assigned officer starts, closes, rejects
        planner: {"create", "assign", "reject"},
        admin: {"create", "assign", "reject"},
        officer: {"start", "close", "reject"},
        other: set(),
        analyst: set(),
    }
    for user, allowed in expected.items():
        assert {a for a in work_orders.permissions.RULES if may(user, a, order)} == allowed, user.username
    with translation.override("en"), pytest.raises(work_orders.NotAllowed, match=f"work order {order.pk}"):
        work_orders.work_order_start(order=order, user=other)


def test_one_service_opens_or_joins_for_planners_sensors_and_reports(people, scene):
    planner = people["planner"][0]
    off, damaged = scene["lamps"][1], scene["lamps"][2]
    first, created = work_orders.work_order_open_or_join(kind="broken_pju", target=off.pk, user=planner, join=False)
    assert created and first.source == "planner" and first.created_by == planner
    priority = first.priority
    # a sensor alarm on the same light joins the planner's order, priority unchanged
    joined, created = work_orders.work_order_open_for_alarm(pju=off, reason="lamp_failure")
    assert (joined.pk, created) == (first.pk, False)
    assert WorkOrder.objects.get(pk=first.pk).priority == priority
    # a citizen's report joins it and raises its priority by one
    joined, created = work_orders.work_order_open_or_join(kind="broken_pju", target=off.pk, priority_step=1)
    assert (joined.pk, created) == (first.pk, False)
    assert WorkOrder.objects.get(pk=first.pk).priority == priority + 1
    # a planner is refused: the need is covered
    with pytest.raises(work_orders.DuplicateOrder) as caught:
        work_orders.work_order_create(user=planner, kind="broken_pju", target=off.pk)
    assert caught.value.order.pk == first.pk
    # no active order on the damaged light: the alarm opens one, from the sensor
    sensor, created = work_orders.work_order_open_for_alarm(pju=damaged, reason="supply_loss")
    assert created and sensor.pk != first.pk
    assert (sensor.kind, sensor.source, sensor.status, sensor.need_ref) == ("broken_pju", "sensor", "open", {"alarm": "supply_loss"})
    assert sensor.created_by is None and "supply_loss" in sensor.title
    # once rejected it no longer covers the need: the next alarm opens a new order
    work_orders.work_order_reject(order=sensor, user=planner, reason="tiang diganti")
    again, created = work_orders.work_order_open_for_alarm(pju=damaged, reason="supply_loss")
    assert created and again.pk not in (first.pk, sensor.pk)
    assert WorkOrder.objects.filter(pju=damaged, status__in=work_orders.ACTIVE).count() == 1
    # a report that opens an order runs its own step first (marking the asset) and counts once
    calls = []
    road_order, created = work_orders.work_order_open_or_join(
        kind="damaged_road", target=scene["road"].pk, priority_step=1, before_open=lambda: calls.append(1))
    assert created and calls == [1]
    assert WorkOrder.objects.get(pk=road_order.pk).priority == road_order.priority + 1


def test_the_work_order_list_has_the_one_envelope(people, scene):
    planner, client = people["planner"]
    ids = [work_orders.work_order_create(user=planner, kind="broken_pju", target=lamp.pk).pk for lamp in scene["lamps"][1:]]
    ids.append(work_orders.work_order_create(user=planner, kind="damaged_road", target=scene["road"].pk).pk)
    newest_first = sorted(ids, reverse=True)
    first = client.get("/api/work-orders/?limit=2").json()
    assert first["count"] == 3 and first["count_exact"] is True and first["previous"] is None
    assert [f["id"] for f in first["features"]] == newest_first[:2]
    assert "offset=2" in first["next"] and "limit=2" in first["next"]
    second = client.get(first["next"]).json()
    assert [f["id"] for f in second["features"]] == newest_first[2:]
    assert second["next"] is None and "offset=0" in second["previous"]
