"""Helpers for the live-network tests: a real Mosquitto (MQTT_URL), a topic
root and client ids unique to each test, the ingest worker in a thread or
as a process, and an independent sunrise/sunset formula (the "sunrise
equation" of NOAA/Wikipedia, written here from the published formulae, not
astral's code) to choose times that are surely night or day."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as mqtt
from django.contrib.gis.geos import Point
from django.db import connection

from layers.models import StreetLight
from live.worker import Worker, broker_address

UTC = timezone.utc
ROOT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TANGERANG = (-6.1783, 106.6319)
OSLO = (59.9139, 10.7522)
PUNTA_ARENAS = (-53.1638, -70.9171)


def wait_for(cond, timeout=30.0, every=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def unique_root() -> str:
    return "t" + uuid.uuid4().hex[:10]


def make_pju(lat, lon, controller_id="", **fields) -> StreetLight:
    fields.setdefault("status", "unknown")
    fields.setdefault("wattage_w", 100)
    return StreetLight.objects.create(geom=Point(lon, lat, srid=4326), controller_id=controller_id, source="test",
                                      source_id=controller_id or uuid.uuid4().hex, **fields)


class Publisher:
    def __init__(self, root: str):
        self.root = root
        host, port = broker_address()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{root}-pub-{uuid.uuid4().hex[:6]}")
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.connect(host, port)
        self.client.loop_start()

    def send(self, controller: str, kind: str, body, *, raw: bytes | None = None, topic: str | None = None):
        payload = raw if raw is not None else json.dumps(body, default=str).encode()
        info = self.client.publish(topic or f"{self.root}/{controller}/{kind}", payload, qos=1)
        return info

    def send_all(self, items, timeout=30):
        infos = [self.send(*it) for it in items]
        for i in infos:
            i.wait_for_publish(timeout)
        return infos

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class ThreadWorker:
    """The ingest worker in a thread of this process (same test database)."""

    def __init__(self, root: str, client_id: str | None = None, **kw):
        # silence checks: the tests call alarms.check_silence themselves (no race with the worker's own)
        kw.setdefault("silence_every", 10**9)
        kw.setdefault("rollup_every", 0.2)  # hourly rollups rebuilt from the raw rows soon after each batch
        self.worker = Worker(root=root, client_id=client_id or f"{root}-ingest", batch_seconds=0.05, **kw)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)
        self.thread.start()
        wait_for(self.worker.connected.is_set, 15, what="the worker's MQTT connection")

    def stop(self):
        self.worker.stop.set()
        self.thread.join(20)


def database_url() -> str:
    d = connection.settings_dict
    return f"postgis://{d['USER']}:{d['PASSWORD']}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"


def start_worker_process(root: str, client_id: str, processes: int = 1) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "LIVE_BATCH_SECONDS": "0.05", "LIVE_ROLLUP_SECONDS": "0.5"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "pju_ingest", "--root", root, "--client-id", client_id, "--processes", str(processes)],
        cwd=ROOT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def stop_worker_process(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM the worker started by `start_worker_process`, wait up to `timeout` (then SIGKILL), close its stderr."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except Exception:
        proc.kill()
    proc.stderr.close()


def count(sql: str, params=()) -> int:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


# --- the sunrise equation (https://en.wikipedia.org/wiki/Sunrise_equation), ~1 min accuracy ---

def sun_times(lat: float, lon: float, day) -> tuple[datetime, datetime]:
    """(sunrise, sunset) in UTC around solar noon of `day` at (lat, lon east+)."""
    jd_noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp() / 86400.0 + 2440587.5
    n = math.ceil(jd_noon - 2451545.0 + 0.0008)
    j_star = n - lon / 360.0
    m = (357.5291 + 0.98560028 * j_star) % 360
    mr = math.radians(m)
    c = 1.9148 * math.sin(mr) + 0.02 * math.sin(2 * mr) + 0.0003 * math.sin(3 * mr)
    lam = math.radians((m + c + 180 + 102.9372) % 360)
    j_transit = 2451545.0 + j_star + 0.0053 * math.sin(mr) - 0.0069 * math.sin(2 * lam)
    decl = math.asin(math.sin(lam) * math.sin(math.radians(23.4397)))
    phi = math.radians(lat)
    cos_w = (math.sin(math.radians(-0.833)) - math.sin(phi) * math.sin(decl)) / (math.cos(phi) * math.cos(decl))
    w = math.degrees(math.acos(cos_w))
    to_dt = lambda jd: datetime.fromtimestamp((jd - 2440587.5) * 86400.0, tz=UTC)  # noqa: E731
    return to_dt(j_transit - w / 360.0), to_dt(j_transit + w / 360.0)


def yesterday():
    return (datetime.now(UTC) - timedelta(days=1)).date()


def midnight_longitude(now: datetime) -> float:
    """A longitude where local solar time is about midnight now (on the equator: deep night)."""
    hours = now.hour + now.minute / 60.0
    lon = -hours * 15.0  # solar time = UTC + lon/15 ≡ 0 (mod 24)
    return ((lon + 180.0) % 360.0) - 180.0


def child_pids(pid: int) -> list[int]:
    """The children of process `pid` (Linux /proc)."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]
