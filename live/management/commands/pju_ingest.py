"""manage.py pju_ingest — the MQTT ingest worker (SPEC §7); runs until SIGTERM/SIGINT."""
import logging

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Ingest PJU controller telemetry, events and acks from MQTT (MQTT_URL) and send commands."

    def add_arguments(self, parser):
        parser.add_argument("--url", help="broker (default MQTT_URL)")
        parser.add_argument("--client-id", help="MQTT client id (default MQTT_CLIENT_ID; keep it fixed)")
        parser.add_argument("--root", help="topic root (default MQTT_TOPIC_ROOT, 'pju')")
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--batch-seconds", type=float)

    def handle(self, *args, **opts):
        from live.worker import serve

        logging.basicConfig(level=logging.INFO, format="%(asctime)s pju_ingest %(levelname)s %(message)s")
        logging.getLogger("live").setLevel(logging.INFO)  # connection news even when LOG_LEVEL is WARNING
        self.stderr.write("pju_ingest: starting")
        serve(url=opts["url"], client_id=opts["client_id"], root=opts["root"], batch_size=opts["batch_size"],
              batch_seconds=opts["batch_seconds"])
