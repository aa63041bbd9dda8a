# Nearness of live needs (broken PJU, damaged roads) to facilities is tested
# with ST_DWithin on geography: an expression index lets it use GiST.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("needs", "0004_facility_source_id")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS needs_facility_geog_gist ON needs_facility USING GIST ((geom::geography));",
            "DROP INDEX IF EXISTS needs_facility_geog_gist;",
        )
    ]
