"""manage.py simulate_controllers --pju N --interval S --faults P (SPEC §7)."""
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Give N PJU simulated controllers and publish realistic telemetry, dimming, energy counters and faults over MQTT."

    def add_arguments(self, parser):
        parser.add_argument("--pju", type=int, default=50, help="number of controllers (default 50)")
        parser.add_argument("--interval", type=float, default=300.0, help="seconds between a controller's reports (default 300)")
        parser.add_argument("--faults", type=float, default=0.01, help="probability of a fault per report (default 0.01)")
        parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: run until killed)")
        parser.add_argument("--root", help="topic root (default MQTT_TOPIC_ROOT)")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **o):
        from live.simulator import Fleet, assign_controllers

        if o["pju"] < 1 or o["interval"] <= 0 or not 0 <= o["faults"] <= 1:
            raise CommandError("--pju ≥ 1, --interval > 0 and 0 ≤ --faults ≤ 1")
        lamps = assign_controllers(o["pju"])
        if not lamps:
            raise CommandError("no PJU in the database: run load_demo or import_layer first")
        fleet = Fleet(lamps, root=o["root"], faults=o["faults"], seed=o["seed"])
        self.stderr.write(f"simulate_controllers: {len(lamps)} controllers, one report each every {o['interval']:g} s")
        try:
            sent = fleet.run(interval=o["interval"], duration=o["duration"])
        except KeyboardInterrupt:
            sent = None
        finally:
            fleet.close()
        self.stderr.write(f"simulate_controllers: {sent} reports sent")
