"""Default templates, materials, price list and treatments from estimates/data/
(reference data, not demo data: the API works right after migrate)."""
from django.db import migrations


def forwards(apps, schema_editor):
    from estimates.defaults import load_defaults

    load_defaults(lambda name: apps.get_model("estimates", name))


class Migration(migrations.Migration):
    dependencies = [("estimates", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
