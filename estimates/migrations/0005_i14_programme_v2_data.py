"""Issue 14 (programme v2): reloads estimates/data/ over the default rows —
treatments by surface × condition, per-component loss factors, tack-coat
rates by surface, maintenance templates, Divisi 1/SMKK lines, rounding.
Default rows edited in the admin are reset to the files (README)."""
from django.db import migrations


def forwards(apps, schema_editor):
    from estimates.defaults import load_defaults

    load_defaults(lambda name: apps.get_model("estimates", name), overwrite=True)


class Migration(migrations.Migration):
    dependencies = [("estimates", "0004_i14_programme_v2")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
