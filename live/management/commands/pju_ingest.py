"""manage.py pju_ingest — the MQTT ingest worker (SPEC §7); runs until SIGTERM/SIGINT.

`--processes N` (default: the machine's cores) runs N worker processes under
this one, sharing the load through one MQTT 5 shared subscription; each has
its own fixed client id `<client id>-<i>` and persistent session, process 0
also publishes commands, checks silence and keeps partitions and rollups.
A child that dies is started again. `--processes 1` is the single worker
with the client id as given."""
import logging
import os
import signal
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Ingest PJU controller telemetry, events and acks from MQTT (MQTT_URL) and send commands."

    def add_arguments(self, parser):
        parser.add_argument("--url", help="broker (default MQTT_URL)")
        parser.add_argument("--client-id", help="MQTT client id (default MQTT_CLIENT_ID; keep it fixed)")
        parser.add_argument("--root", help="topic root (default MQTT_TOPIC_ROOT, 'pju')")
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--batch-seconds", type=float)
        parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                            help="worker processes sharing the load (default: the number of cores)")
        parser.add_argument("--index", type=int, help=argparse_suppress())

    def handle(self, *args, **opts):
        from live.worker import serve, supervise

        logging.basicConfig(level=logging.INFO, format="%(asctime)s pju_ingest %(levelname)s %(message)s")
        logging.getLogger("live").setLevel(logging.INFO)  # connection news even when LOG_LEVEL is WARNING
        processes = max(1, opts["processes"])
        client_id = opts["client_id"] or settings.MQTT_CLIENT_ID
        common = dict(url=opts["url"], root=opts["root"], batch_size=opts["batch_size"], batch_seconds=opts["batch_seconds"])
        if processes == 1:
            self.stderr.write("pju_ingest: starting")
            serve(client_id=client_id, **common)
            return
        if opts["index"] is not None:  # one child of the supervisor below
            i = opts["index"]
            self.stderr.write(f"pju_ingest[{i}]: starting")
            serve(client_id=f"{client_id}-{i}", shared_group=client_id, duties=i == 0, parent_pid=os.getppid(), **common)
            return
        self.stderr.write(f"pju_ingest: starting {processes} processes (shared subscription, group {client_id})")
        argv = [sys.executable, os.path.abspath(sys.argv[0]), "pju_ingest", "--processes", str(processes), "--client-id", client_id]
        for name in ("url", "root", "batch_size", "batch_seconds"):
            if opts[name] is not None:
                argv += [f"--{name.replace('_', '-')}", str(opts[name])]
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        supervise(argv, processes, stop)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS
