"""The ingest worker (`manage.py pju_ingest`): one MQTT session, batches,
commit, then acknowledge.

* paho-mqtt 2.x, MQTT 5, fixed client id, `clean_start=False` with a session
  that outlives the worker (MQTT 5's form of clean_session=False): the
  broker keeps the subscription and queues QoS 1 messages while the worker
  is down, and delivers them when it returns.
* `manual_ack=True`: PUBACK is sent only after the batch holding the
  message has committed. A SIGKILL loses only unacknowledged messages,
  which the broker delivers again; ingest_batch drops the ones already
  stored (same PJU and ts), so nothing is lost and nothing is doubled.
* Receive Maximum (MQTT 5 flow control) lets the broker have a whole batch
  in flight (Mosquitto's default for MQTT 3.1.1 clients is 20 messages).
* The same connection publishes due commands and retries them.
* A rollup thread (its own database connection) rebuilds the hours the
  batches marked, every LIVE_ROLLUP_SECONDS (live/rollups.py), so a batch
  never waits for the hourly aggregates."""
from __future__ import annotations

import collections
import json
import logging
import os
import signal
import subprocess
import threading
import time
from typing import NamedTuple
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from live import alarms, commands, partitions, rollups
from live.ingest import Raw, ingest_batch

log = logging.getLogger(__name__)
SESSION_EXPIRY_S = 7 * 24 * 3600
POLL_S = 0.002  # while a batch fills


class Received(NamedTuple):
    topic: str
    payload: bytes
    mid: int
    qos: int


def broker_address(url: str | None = None) -> tuple[str, int]:
    u = urlparse(url or settings.MQTT_URL)
    if u.scheme not in ("mqtt", "tcp", ""):
        raise ValueError(f"MQTT_URL scheme must be mqtt://, got {u.scheme}://")
    return u.hostname or "127.0.0.1", u.port or 1883


def topics(root: str, shared_group: str | None = None) -> list[str]:
    """Everything under the root, so a message on a wrong topic is dead-lettered
    rather than unseen; No Local keeps the worker's own commands away. With
    several processes, one MQTT 5 shared subscription (`$share/<group>/…`):
    the broker hands each message to one of the group's sessions."""
    return [f"$share/{shared_group}/{root}/#" if shared_group else f"{root}/#"]


class BufferedClient(mqtt.Client):
    """paho reads each packet with several small `recv` calls (1 byte of
    command, 1 per length byte, then the rest) after one `select` per packet:
    four system calls per message. This reads the socket 64 KB at a time and
    drains the whole buffer after each `select` (paho 2.x `_sock_recv` and
    `loop_read`; the pinned version). Same packets, same order."""

    _rbuf = b""
    _rpos = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rpos >= len(self._rbuf):
            data = super()._sock_recv(max(bufsize, 1 << 16))  # BlockingIOError / b"" (closed) pass through
            if len(data) <= bufsize:
                return data
            self._rbuf, self._rpos = data, 0
        end = self._rpos + bufsize
        out = self._rbuf[self._rpos:end]
        self._rpos = end
        return out

    def loop_read(self, max_packets: int = 1):
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and self._rpos < len(self._rbuf) and self._sock is not None:
            rc = super().loop_read(max_packets)
        return rc

    def reconnect(self):
        self._rbuf, self._rpos = b"", 0  # nothing of the old connection's stream survives it
        return super().reconnect()


class Worker:
    def __init__(self, *, url=None, client_id=None, root=None, batch_size=None, batch_seconds=None, stats=None,
                 silence_every: float = 60.0, rollup_every: float | None = None, shared_group: str | None = None,
                 duties: bool = True):
        # shared_group: one of several processes sharing the load (`pju_ingest --processes N`);
        # duties: this one also publishes commands, checks silence, keeps partitions and rollups (one process does)
        self.shared_group = shared_group
        self.duties = duties
        self.silence_every = silence_every
        self.rollup_every = rollup_every if rollup_every is not None else settings.LIVE_ROLLUP_SECONDS
        self.rollup_thread: threading.Thread | None = None
        self.root = root or settings.MQTT_TOPIC_ROOT
        self.batch_size = batch_size or settings.LIVE_BATCH_SIZE
        self.batch_seconds = batch_seconds if batch_seconds is not None else settings.LIVE_BATCH_SECONDS
        # paho's thread appends, the batch loop pops: a deque needs no lock, and the loop polls while
        # it fills a batch instead of being woken (a thread switch) for every message
        self.inbox: collections.deque[Received] = collections.deque()
        self.mail = threading.Event()
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.stats = stats if stats is not None else {"received": 0, "stored": 0, "dead": 0, "duplicates": 0, "batches": 0}
        host, port = broker_address(url)
        self.client = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or settings.MQTT_CLIENT_ID,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a, **k: self.connected.clear()
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = min(65535, max(100, self.batch_size * 2))
        self.client.reconnect_delay_set(1, 10)
        self.client.connect_async(host, port, keepalive=30, clean_start=False, properties=props)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        # No Local is a protocol error on a shared subscription: the worker's own commands then come back
        # and are skipped by ingest (kind "command")
        client.subscribe([(t, SubscribeOptions(qos=1, noLocal=not self.shared_group))
                          for t in topics(self.root, self.shared_group)])
        self.connected.set()
        log.info("connected to MQTT (session present: %s)", flags.session_present)

    def _on_message(self, client, userdata, msg):
        self.inbox.append(Received(msg.topic, msg.payload, msg.mid, msg.qos))
        self.mail.set()

    def _take_batch(self) -> list[Received]:
        inbox = self.inbox
        if not inbox:
            self.mail.wait(0.2)
            self.mail.clear()
            if not inbox:
                return []
        batch = [inbox.popleft()]
        deadline = time.monotonic() + self.batch_seconds
        while len(batch) < self.batch_size:
            if inbox:
                for _ in range(min(len(inbox), self.batch_size - len(batch))):
                    batch.append(inbox.popleft())
            elif time.monotonic() >= deadline:
                break
            else:
                time.sleep(POLL_S)
        return batch

    def publish_due(self) -> int:
        sent = 0
        for cmd in commands.due(timezone.now()):
            self.client.publish(f"{self.root}/{cmd.controller_id}/command", json.dumps(cmd.payload()), qos=1)
            sent += 1
        return sent

    def _rollups(self) -> None:
        """Rebuild the marked hours every `rollup_every` s (marks outlive the worker: nothing is lost on a kill)."""
        try:
            while not self.stop.wait(self.rollup_every):
                try:
                    rollups.run()
                except Exception:
                    log.exception("hourly rollup failed; the hours stay marked")
                    connection.close()
        finally:
            connection.close()

    def run(self) -> None:
        self.client.loop_start()
        if self.duties:
            self.rollup_thread = threading.Thread(target=self._rollups, daemon=True, name="live-rollups")
            self.rollup_thread.start()
        next_tick = next_silence = next_partitions = 0.0
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                if not self.duties:
                    pass
                elif now >= next_partitions:
                    partitions.maintain(timezone.now())
                    next_partitions = now + 3600
                if self.duties and now >= next_silence:
                    alarms.check_silence(timezone.now())
                    next_silence = now + self.silence_every
                if self.duties and now >= next_tick and self.connected.is_set():
                    self.publish_due()
                    next_tick = now + 0.5
                batch = self._take_batch()
                if not batch:
                    close_old_connections()
                    continue
                result = self._ingest(batch)
                ack_all(self.client, batch)  # only now, after the commit
                self.stats["received"] += result.received
                self.stats["stored"] += result.stored
                self.stats["dead"] += result.dead_total
                self.stats["duplicates"] += result.duplicates
                self.stats["batches"] += 1
        finally:
            self.stop.set()
            self.client.disconnect()
            self.client.loop_stop()
            connection.close()
            if self.rollup_thread is not None:
                self.rollup_thread.join(60)

    def _ingest(self, batch):
        raws = [Raw(m.topic, m.payload) for m in batch]
        while True:
            try:
                return ingest_batch(raws, root=self.root, shared=bool(self.shared_group))
            except Exception:
                log.exception("batch of %d messages failed", len(raws))
                connection.close()
            if database_up():  # one message breaks the batch: take them one by one
                return ingest_one_by_one(raws, self.root, shared=bool(self.shared_group))
            log.error("database unreachable: the messages stay unacknowledged; retrying in 2 s")
            if self.stop.wait(2):
                raise SystemExit(1)


def ack_all(client: mqtt.Client, batch: list[Received]) -> None:
    """PUBACK a committed batch. paho wakes its network thread with one byte
    on an internal socket pair per queued packet (a system call and a thread
    switch per message); for a batch the wake-up is sent once, after all the
    PUBACKs are queued (paho 2.x `_sockpairW`; without it, the plain path)."""
    wake = getattr(client, "_sockpairW", None)
    if wake is not None:
        client._sockpairW = None
    try:
        for m in batch:
            if m.qos > 0:
                client.ack(m.mid, m.qos)
    finally:
        if wake is not None:
            if getattr(client, "_sockpairW", wake) is None:  # not replaced by a reconnection meanwhile
                client._sockpairW = wake
            try:
                wake.send(b"0")
            except OSError:
                pass


def database_up() -> bool:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return True
    except Exception:
        connection.close()
        return False


def ingest_one_by_one(raws, root=None, shared=False):
    """Each message alone; one that still fails is dead-lettered (processing_error)."""
    from live.ingest import BatchResult
    from live.models import DeadLetter

    total = BatchResult(received=len(raws))
    for raw in raws:
        try:
            r = ingest_batch([raw], root=root, shared=shared)
        except Exception as exc:
            log.exception("message on %s failed alone: dead-lettered", raw.topic)
            connection.close()
            parts = raw.topic.split("/")
            DeadLetter.objects.create(topic=raw.topic[:300], controller_id=(parts[1] if len(parts) == 3 else "")[:64],
                                      reason="processing_error", detail=repr(exc)[:1000],
                                      payload=raw.payload[:2000].decode("utf-8", errors="replace").replace("\x00", ""))
            total.dead["processing_error"] += 1
            continue
        total.stored += r.stored
        total.duplicates += r.duplicates
        for k, v in r.dead.items():
            total.dead[k] += v
    return total


def serve(*, parent_pid: int | None = None, **kwargs) -> None:
    worker = Worker(**kwargs)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stop.set())
    if parent_pid is not None:  # a child of `pju_ingest --processes N`: end with the supervisor, even a SIGKILLed one
        def orphaned():
            while not worker.stop.wait(1):
                if os.getppid() != parent_pid:
                    log.warning("supervisor %d gone: stopping", parent_pid)
                    worker.stop.set()
        threading.Thread(target=orphaned, daemon=True, name="live-parent").start()
    worker.run()


def supervise(argv: list[str], processes: int, stop: threading.Event, restart_after: float = 1.0) -> None:
    """Run `processes` children (`argv` + `--index i`), start again any that exits, until `stop`;
    then SIGTERM them all and wait. Each child keeps its own fixed client id, so a restarted
    child resumes its broker session (the messages it had not acknowledged come back to it)."""
    children: dict[int, subprocess.Popen] = {}
    try:
        while not stop.is_set():
            for i in range(processes):
                child = children.get(i)
                if child is None or child.poll() is not None:
                    if child is not None:
                        log.warning("ingest process %d exited (%s): starting it again", i, child.returncode)
                    children[i] = subprocess.Popen([*argv, "--index", str(i)])
            stop.wait(restart_after)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(60)
            except subprocess.TimeoutExpired:
                child.kill()
