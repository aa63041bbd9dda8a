"""Operations: the broker script, daily partitions and their retention, the simulator."""
import os
import signal
import socket
import subprocess
import time
from datetime import datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from django.db import connection

from live import partitions
from live.models import Command, LiveState
from live.simulator import Fleet, assign_controllers
from tests.live.support import ROOT_DIR, TANGERANG, UTC, ThreadWorker, count, make_pju, unique_root, wait_for

pytestmark = pytest.mark.usefixtures("live_db")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker_dir():
    """Under the repository's var/ (run as root, mosquitto drops to its own user,
    which cannot enter pytest's private temporary folders)."""
    import shutil
    import uuid
    from pathlib import Path

    path = Path(ROOT_DIR) / "var" / f"test-mosquitto-{uuid.uuid4().hex[:8]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_ensure_mosquitto_starts_a_broker_only_when_nothing_listens(broker_dir):
    tmp_path = broker_dir
    script = os.path.join(ROOT_DIR, "scripts", "ensure_mosquitto.sh")
    # the machine's broker (MQTT_URL) listens: nothing is started, nothing written
    r = subprocess.run([script], env={**os.environ, "MOSQUITTO_DIR": str(tmp_path / "a")}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "a").exists()
    # a free port: our own broker starts there, and accepts an MQTT session
    port = _free_port()
    env = {**os.environ, "MQTT_URL": f"mqtt://127.0.0.1:{port}", "MOSQUITTO_DIR": str(tmp_path / "b")}
    r = subprocess.run([script], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    pid = int(wait_for(lambda: (tmp_path / "b" / "mosquitto.pid").exists() and (tmp_path / "b" / "mosquitto.pid").read_text().strip(),
                       10, what="the pid file"))
    try:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unique_root())
        assert c.connect("127.0.0.1", port) == 0
        c.disconnect()
        assert f"listener {port} 127.0.0.1" in (tmp_path / "b" / "mosquitto.conf").read_text()
        # run again: it listens now, so it is left alone (same process)
        assert subprocess.run([script], env=env, timeout=60).returncode == 0
        assert int((tmp_path / "b" / "mosquitto.pid").read_text()) == pid
    finally:
        os.kill(pid, signal.SIGTERM)


def test_daily_partitions_are_made_ahead_and_dropped_after_retention(settings):
    settings.LIVE_RETENTION_DAYS = 30
    now = datetime.now(UTC)
    old = (now - timedelta(days=40)).date()
    kept = (now - timedelta(days=29)).date()
    partitions.ensure([old, kept])
    pju = make_pju(*TANGERANG, "p-1")
    with connection.cursor() as cur:
        cur.execute("INSERT INTO live_telemetry (pju_id, ts, power_state) VALUES (%s, %s, 1), (%s, %s, 1)",
                    [pju.pk, datetime(old.year, old.month, old.day, 3, tzinfo=UTC), pju.pk, datetime(kept.year, kept.month, kept.day, 3, tzinfo=UTC)])
    result = partitions.maintain(now)
    names = partitions.existing()
    assert partitions.partition_name(old) in result["dropped"] and partitions.partition_name(old) not in names
    assert partitions.partition_name(kept) in names
    for k in range(3):
        assert partitions.partition_name((now + timedelta(days=k)).date()) in names
    assert count("SELECT count(*) FROM live_telemetry WHERE pju_id = %s", [pju.pk]) == 1  # the old day went whole
    for name in names:  # leave no partitions behind for other tests
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE {name}")


def test_simulated_controllers_report_and_answer_commands(settings):
    settings.COMMAND_RETRY_SECONDS = 1
    root = unique_root()
    for i in range(3):
        make_pju(TANGERANG[0] + i * 0.001, TANGERANG[1], "")
    lamps = assign_controllers(3, prefix=root)
    assert len(lamps) == 3 and all(l.controller_id.startswith(root) for l in lamps)
    worker = ThreadWorker(root)
    fleet = Fleet(lamps, root=root, faults=0.0)
    try:
        fleet.run(interval=0.3, duration=1.0)
        wait_for(lambda: LiveState.objects.exclude(last_ts=None).count() == 3, what="every simulated controller")
        from layers.models import StreetLight
        from live import commands

        _, cmds = commands.command_create(pjus=list(StreetLight.objects.filter(controller_id=lamps[0].controller_id)),
                                          body={"level": 30, "schedule": None}, user=None)
        wait_for(lambda: Command.objects.get(pk=cmds[0].pk).state == "acknowledged", what="the simulator's ack")
        assert fleet.lamps[lamps[0].controller_id].level == 30
    finally:
        fleet.close()
        worker.stop()
