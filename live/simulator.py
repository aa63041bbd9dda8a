"""Simulated smart-light controllers (`manage.py simulate_controllers`).

Each controller keeps a lamp (the PJU's wattage), a cumulative energy
counter and operating hours; it switches on at sunset and off at sunrise
at its own position (astral), follows commanded levels and schedules, and
answers commands on `…/ack`. With probability `faults` per report a lamp
fails (event lamp_failure, then reports off), loses supply (supply_loss)
or burns by day; a failed lamp is `restored` with probability 0.2 per report."""
from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import connection

from live import sun
from live.worker import broker_address


@dataclass
class Lamp:
    pju: int
    controller_id: str
    lat: float
    lon: float
    watts: float
    kwh: float = 0.0
    hours: float = 0.0
    level: int = 100
    fault: str = ""  # lamp_failure | supply_loss | day_burning
    last: float = field(default_factory=time.time)


def assign_controllers(n: int, *, prefix: str = "SIM") -> list[Lamp]:
    """Give the first `n` PJU (by id) a controller id when they have none; return n lamps."""
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE layers_streetlight s SET controller_id = %s || '-' || s.id FROM (SELECT id FROM layers_streetlight "
            "WHERE deleted_at IS NULL AND controller_id = '' ORDER BY id LIMIT greatest(0, %s - (SELECT count(*) FROM "
            "layers_streetlight WHERE deleted_at IS NULL AND controller_id <> ''))) t WHERE s.id = t.id",
            [prefix, n],
        )
        cur.execute("SELECT id, controller_id, ST_Y(geom), ST_X(geom), coalesce(wattage_w, 90) FROM layers_streetlight "
                    "WHERE deleted_at IS NULL AND controller_id <> '' ORDER BY id LIMIT %s", [n])
        return [Lamp(*r) for r in cur.fetchall()]


class Fleet:
    def __init__(self, lamps: list[Lamp], *, root: str | None = None, faults: float = 0.01, seed: int = 1, url=None):
        self.lamps = {l.controller_id: l for l in lamps}
        self.root = root or settings.MQTT_TOPIC_ROOT
        self.faults = faults
        self.rnd = random.Random(seed)
        self.lock = threading.Lock()
        host, port = broker_address(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-{self.root}-{seed}-{time.time_ns()}")
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = lambda c, *a: c.subscribe(f"{self.root}/+/command", qos=1)
        self.client.on_message = self._on_command
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def _on_command(self, client, userdata, msg):
        cid = msg.topic.split("/")[1]
        lamp = self.lamps.get(cid)
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        if lamp is None or not isinstance(body, dict) or "id" not in body:
            return
        with self.lock:
            if "level" in body and isinstance(body["level"], (int, float)):
                lamp.level = int(body["level"])
            elif isinstance(body.get("schedule"), list) and body["schedule"]:
                lamp.level = int(body["schedule"][0].get("level", 100))
        client.publish(f"{self.root}/{cid}/ack", json.dumps({"id": body["id"], "ok": True}), qos=1)

    def report(self, lamp: Lamp, now: datetime) -> list:
        """Publish one report for `lamp` (plus an event when a fault starts or ends)."""
        infos = []
        ts = int(now.timestamp() * 1000)
        with self.lock:
            if not lamp.fault and self.rnd.random() < self.faults:
                lamp.fault = self.rnd.choice(["lamp_failure", "supply_loss", "day_burning"])
                if lamp.fault != "day_burning":
                    infos.append(self._pub(lamp, "event", {"ts": ts, "event": lamp.fault, "detail": "simulated"}))
            elif lamp.fault and self.rnd.random() < 0.2:
                lamp.fault = ""
                infos.append(self._pub(lamp, "event", {"ts": ts, "event": "restored", "detail": "simulated"}))
            night = sun.phase(lamp.lat, lamp.lon, now) == "night"
            burning = (night or lamp.fault == "day_burning") and lamp.fault not in ("lamp_failure", "supply_loss")
            level = lamp.level if burning else 0
            watts = lamp.watts * level / 100.0 if burning else 0.0
            elapsed_h = max(0.0, time.time() - lamp.last) / 3600.0
            lamp.last = time.time()
            lamp.kwh += watts * elapsed_h / 1000.0
            lamp.hours += elapsed_h if burning else 0.0
            state = "off" if not burning else ("dimmed" if level < 100 else "on")
            body = {"ts": ts, "power_state": state, "level": level, "active_power_w": round(watts, 1),
                    "active_energy_kwh": round(lamp.kwh, 4), "operating_hours": round(lamp.hours, 3),
                    "voltage_v": 0.0 if lamp.fault == "supply_loss" else round(self.rnd.gauss(220, 3), 1)}
        infos.append(self._pub(lamp, "telemetry", body))
        return infos

    def _pub(self, lamp: Lamp, kind: str, body: dict):
        return self.client.publish(f"{self.root}/{lamp.controller_id}/{kind}", json.dumps(body), qos=1)

    def run(self, *, interval: float, duration: float | None = None, stop: threading.Event | None = None) -> int:
        """Every controller reports once per `interval` seconds, spread evenly."""
        stop = stop or threading.Event()
        sent = 0
        started = time.monotonic()
        lamps = list(self.lamps.values())
        while not stop.is_set() and (duration is None or time.monotonic() - started < duration):
            tick = time.monotonic()
            for i, lamp in enumerate(lamps):
                target = tick + interval * i / max(len(lamps), 1)
                delay = target - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    break
                self.report(lamp, datetime.now(dt_timezone.utc))
                sent += 1
            left = tick + interval - time.monotonic()
            if left > 0 and stop.wait(left):
                break
        return sent

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()
