# LampMatch is derived input of the runs (rebuilt by compute_needs): no WAL.
# After a crash PostgreSQL empties it; the next compute_needs refills it.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("needs", "0006_fewer_indexes")]

    operations = [
        migrations.RunSQL("ALTER TABLE needs_lampmatch SET UNLOGGED;", "ALTER TABLE needs_lampmatch SET LOGGED;"),
    ]
