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
import gc
import json
import logging
import os
import signal
import struct
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
READ_BYTES = 1 << 18  # one socket read: ~2,000 telemetry messages


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
    """paho parses each incoming packet in Python with several small `recv`
    calls, and builds an MQTTMessage and an MQTT 5 Properties object for every
    PUBLISH (≈ 20 µs a message, most of the ingest's network thread). This
    client reads the socket 256 KB at a time and cuts the buffer into packets
    itself: a QoS 1 PUBLISH (all the ingest receives) becomes a `Received`
    tuple straight away — topic, payload, packet id; its MQTT 5 properties
    are skipped — and a whole read's worth is handed to `on_publishes` at
    once; every other packet (CONNACK, SUBACK, PINGRESP, QoS 0/2 PUBLISH…)
    goes to paho's own handler unchanged, in stream order. Written against
    the pinned paho 2.x (`loop_read`, `_packet_read`, `_in_packet`)."""

    _rbuf = b""
    on_publishes = None  # callable(list[Received]); without it every PUBLISH takes paho's path

    def loop_read(self, max_packets: int = 1):
        if self._sock is None:
            return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
        try:
            data = self._sock_recv(READ_BYTES)
        except BlockingIOError:
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        except OSError as err:
            log.warning("failed to receive on the MQTT socket: %s", err)
            return self._loop_rc_handle(mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST)
        if not data:
            return self._loop_rc_handle(mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST)
        buf = self._rbuf + data if self._rbuf else data
        deliver = self.on_publishes if self._protocol == mqtt.MQTTv5 else None
        out: list[Received] = []
        pos, end_buf = 0, len(buf)
        rc = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        while end_buf - pos >= 2:
            header = buf[pos]
            i, length, shift = pos + 1, 0, 0
            while i < end_buf:  # remaining length: 1–4 bytes of 7 bits
                b = buf[i]
                length |= (b & 127) << shift
                i += 1
                if b < 128:
                    break
                shift += 7
                if shift > 21:
                    rc = mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL
                    break
            else:
                break  # the length is not complete yet
            if rc or i + length > end_buf:
                break
            end = i + length
            if header & 0xF6 == 0x32 and deliver is not None:  # PUBLISH, QoS 1 (any DUP / RETAIN flag)
                t_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
                if t_end + 3 > end:
                    rc = mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL
                    break
                mid = (buf[t_end] << 8) | buf[t_end + 1]
                p, plen, shift = t_end + 2, 0, 0
                while True:  # MQTT 5 property length (variable byte integer), properties skipped
                    b = buf[p]
                    plen |= (b & 127) << shift
                    p += 1
                    if b < 128 or shift > 14:
                        break
                    shift += 7
                if p + plen > end:
                    rc = mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL
                    break
                out.append(Received(buf[i + 2:t_end].decode("utf-8", "replace"), buf[p + plen:end], mid, 1))
            else:
                if header >> 4 == 0:
                    rc = mqtt.MQTTErrorCode.MQTT_ERR_PROTOCOL
                    break
                if out:  # stream order: what came before this packet first
                    deliver(out)
                    out = []
                self._in_packet = {"command": header, "have_remaining": 1, "remaining_count": [], "remaining_mult": 1,
                                   "remaining_length": length, "packet": bytearray(buf[i:end]), "to_process": 0, "pos": 0}
                rc = self._packet_read()  # everything is there: paho handles the packet and resets its state
                if rc > 0 or self._sock is None:
                    pos = end
                    break
            pos = end
        self._rbuf = buf[pos:] if pos < end_buf else b""
        if out:
            deliver(out)
        with self._msgtime_mutex:
            self._last_msg_in = mqtt.time_func()
        if rc > 0:
            return self._loop_rc_handle(rc)
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def reconnect(self):
        self._rbuf = b""  # nothing of the old connection's stream survives it
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
        self.client.on_message = self._on_message  # QoS 0/2 messages (paho's path)
        self.client.on_publishes = self._on_publishes  # QoS 1: a socket read's worth at once
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
        log.info("connected to MQTT (session present: %s; process %d)", flags.session_present, os.getpid())

    def _on_message(self, client, userdata, msg):
        self.inbox.append(Received(msg.topic, msg.payload, msg.mid, msg.qos))
        if not self.mail.is_set():
            self.mail.set()

    def _on_publishes(self, received: list[Received]) -> None:
        self.inbox.extend(received)
        if not self.mail.is_set():  # Event.set takes a lock and notifies: only when the loop may sleep
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
    """PUBACK a committed batch. The QoS 1 acknowledgements (4 bytes each:
    type, length 2, packet id; MQTT 5 lets "success" go without a reason code)
    are queued as ONE buffer: one wake-up of paho's network thread and one
    `send` for the batch instead of one of each per message (paho 2.x
    `_packet_queue`; a reconnection drops the queue, and the broker then
    delivers the unacknowledged messages again). QoS 2 (PUBCOMP): paho's `ack`."""
    mids = [m.mid for m in batch if m.qos == 1]
    if mids:
        client._packet_queue(mqtt.PUBACK, struct.pack(f"!{len(mids)}I", *[0x40020000 | mid for mid in mids]), 0, 0)
    for m in batch:
        if m.qos == 2:
            client.ack(m.mid, m.qos)


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


GC_THRESHOLD = (50_000, 20, 100)  # gen 0 every 50,000 net allocations instead of 700


def tune_gc() -> None:
    """The ingest allocates a few short-lived objects per message (parsed JSON, tuples) that reference
    counting frees; the cyclic collector, triggered every 700 allocations, would re-traverse the young
    objects and, every few dozen passes, all of Django's (≈ 6 µs a message, a third of the worker's CPU,
    measured on a 50,000-message burst). So: what the process built at start-up is frozen out of the
    collector's sight (gc.freeze) and it runs less often; cycles are still collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def serve(*, parent_pid: int | None = None, **kwargs) -> None:
    worker = Worker(**kwargs)
    tune_gc()
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
