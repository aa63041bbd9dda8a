# Tiles of the needs tables: GiST on the stored Web Mercator copy, and the
# statement trigger layers_bump_revision() (layers/migrations/0003) so tile
# ETags and caches change with every write.
from django.db import migrations

TABLES = ["needs_lightinggap", "needs_proposedpju", "needs_workorder"]


def forward_sql():
    sql = []
    for t in TABLES:
        sql.append(f"CREATE INDEX IF NOT EXISTS {t}_geom_3857_gist ON {t} USING GIST (geom_3857);")
        sql.append(
            f"CREATE TRIGGER {t}_bump_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t} "
            "FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_revision();"
        )
    return sql


def reverse_sql():
    sql = []
    for t in TABLES:
        sql.append(f"DROP TRIGGER IF EXISTS {t}_bump_revision ON {t};")
        sql.append(f"DROP INDEX IF EXISTS {t}_geom_3857_gist;")
    return sql


class Migration(migrations.Migration):
    dependencies = [("needs", "0001_initial"), ("layers", "0004_revision_sequence")]

    operations = [migrations.RunSQL(forward_sql(), reverse_sql())]
