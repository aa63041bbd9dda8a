"""Default templates, materials, price list and treatments for load_demo.

They are also loaded by the data migration estimates/0002, so the API works
right after `migrate`; `load(stdout)` re-applies estimates/data/ (idempotent
upsert) and reports the counts."""
from django.apps import apps

from estimates.defaults import load_defaults


def load(stdout=None) -> dict:
    counts = load_defaults(lambda name: apps.get_model("estimates", name))
    if stdout is not None:
        stdout.write("estimates: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
    return counts
