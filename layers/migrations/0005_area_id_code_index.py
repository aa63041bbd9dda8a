# Issue 3: the GeoJSON path maps kecamatan/kelurahan ids to codes from an
# index-only scan of (id, code), never reading the wide area rows (geometries).
from django.db import migrations

SQL = "CREATE INDEX IF NOT EXISTS layers_area_id_code_idx ON layers_area (id) INCLUDE (code)"


class Migration(migrations.Migration):
    dependencies = [("layers", "0004_revision_sequence")]

    operations = [migrations.RunSQL(SQL, "DROP INDEX IF EXISTS layers_area_id_code_idx")]
