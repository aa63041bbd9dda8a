"""Adds the rows new in estimates/data/ since 0002 (earthwork items 3.1.(1) and
3.2.(1a)); existing rows, edited or not, are left alone."""
from django.db import migrations


def forwards(apps, schema_editor):
    from estimates.defaults import load_defaults

    load_defaults(lambda name: apps.get_model("estimates", name))


class Migration(migrations.Migration):
    dependencies = [("estimates", "0002_default_data")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
