"""Commands over the real broker: planners and admins only, one PJU or a
group, acknowledged, retried until acknowledged, failed after the last try."""
import json
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest

from live.models import Command, LiveState
from live.worker import broker_address
from tests.layers.api_support import client_for, user_in
from tests.live.support import TANGERANG, ThreadWorker, make_pju, unique_root, wait_for

pytestmark = pytest.mark.usefixtures("live_db")


class FakeControllers:
    """Controllers that answer as told: `policy[controller] = (ack on the n-th receipt, ok)`; None = never."""

    def __init__(self, root, policy):
        self.root, self.policy = root, policy
        self.received: dict[str, list[dict]] = {}
        self.lock = threading.Lock()
        host, port = broker_address()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{root}-ctl-{uuid.uuid4().hex[:6]}")
        self.subscribed = threading.Event()
        self.client.on_connect = lambda c, *a: c.subscribe(f"{root}/+/command", qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert self.subscribed.wait(10)

    def _on_message(self, client, userdata, msg):
        cid = msg.topic.split("/")[1]
        body = json.loads(msg.payload)
        with self.lock:
            got = self.received.setdefault(cid, [])
            got.append(body)
            n = len(got)
        rule = self.policy.get(cid)
        if rule and n >= rule[0]:
            client.publish(f"{self.root}/{cid}/ack", json.dumps({"id": body["id"], "ok": rule[1]}), qos=1)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_commands_are_acknowledged_retried_and_failed(settings):
    settings.COMMAND_RETRY_SECONDS = 3  # ample for an ack to come back, so attempts are counted exactly
    settings.COMMAND_MAX_ATTEMPTS = 3
    root = unique_root()
    lat, lon = TANGERANG
    first_time, second_time, never, refuses = (make_pju(lat, lon, c) for c in ("c-first", "c-second", "c-never", "c-refuses"))
    no_controller = make_pju(lat, lon, "")
    fake = FakeControllers(root, {"c-first": (1, True), "c-second": (2, True), "c-refuses": (1, False)})
    worker = ThreadWorker(root)
    try:
        planner = client_for(user_in("planner", name="plan"))
        # who may send
        for who in (client_for(None), client_for(user_in("analyst", name="ana")), client_for(user_in("field_officer", name="budi"))):
            assert who.post(f"/api/pju/{first_time.pk}/command/", {"level": 50}, format="json").status_code in (401, 403)
        assert Command.objects.count() == 0
        # bad bodies: 400 in the API's error shape, nothing queued
        for body in ({}, {"level": 101}, {"level": 50, "schedule": []}, {"schedule": [{"at": "noon", "level": 50}]},
                     {"schedule": [{"at": "25:00", "level": 50}]}, {"level": True}):
            r = planner.post(f"/api/pju/{first_time.pk}/command/", body, format="json")
            assert r.status_code == 400 and r.json()["detail"], (body, r.content)
        assert planner.post(f"/api/pju/{no_controller.pk}/command/", {"level": 50}, format="json").status_code == 400
        assert planner.post("/api/pju/999999/command/", {"level": 50}, format="json").status_code == 404
        assert Command.objects.count() == 0
        # one PJU, a level: acknowledged on the first send
        r = planner.post(f"/api/pju/{first_time.pk}/command/", {"level": 40}, format="json")
        assert r.status_code == 202, r.content
        cid = r.json()["id"]
        wait_for(lambda: Command.objects.get(pk=cid).state == "acknowledged", what="the ack")
        assert fake.received["c-first"][0] == {"id": cid, "level": 40}
        state = planner.get(f"/api/live/commands/{cid}/").json()
        assert state["state"] == "acknowledged" and state["attempts"] == 1 and state["acked_at"]
        # a group (list) with a sunset/sunrise schedule
        schedule = [{"at": "sunset", "level": 100}, {"at": "23:00", "level": 50}, {"at": "sunrise", "level": 0}]
        r = planner.post("/api/pju/command/", {"pju": [second_time.pk, never.pk, refuses.pk, no_controller.pk], "schedule": schedule}, format="json")
        assert r.status_code == 202, r.content
        group = r.json()["group"]
        assert r.json()["count"] == 3  # the PJU without a controller is left out
        by_pju = {c.pju_id: c for c in Command.objects.filter(group=group)}
        wait_for(lambda: Command.objects.get(pk=by_pju[second_time.pk].pk).state == "acknowledged", what="ack after a retry")
        wait_for(lambda: Command.objects.get(pk=by_pju[never.pk].pk).state == "failed", what="failure after 3 attempts")
        wait_for(lambda: Command.objects.get(pk=by_pju[refuses.pk].pk).state == "failed", what="ok=false")
        second = Command.objects.get(pk=by_pju[second_time.pk].pk)
        assert second.attempts == 2 and len(fake.received["c-second"]) == 2
        assert fake.received["c-second"][0] == {"id": str(second.pk), "schedule": schedule}
        dead = Command.objects.get(pk=by_pju[never.pk].pk)
        assert dead.attempts == 3 and len(fake.received["c-never"]) == 3 and "3 attempts" in dead.error
        assert "ok=false" in Command.objects.get(pk=by_pju[refuses.pk].pk).error
        assert LiveState.objects.get(pju=second_time).schedule == schedule  # the acknowledged schedule
        listing = planner.get("/api/live/commands/", {"group": group}).json()
        assert listing["count"] == 3 and listing["states"] == {"acknowledged": 1, "failed": 2}
        assert client_for(None).get("/api/live/commands/", {"group": group}).status_code in (401, 403)
    finally:
        worker.stop()
        fake.close()
