# Generated for issue 3: revisions from a sequence, so a rolled-back write can never reuse a revision number.
from django.db import migrations

FORWARD = """
CREATE SEQUENCE IF NOT EXISTS layers_revision_seq;
CREATE OR REPLACE FUNCTION layers_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layers_layerrevision ("table", revision) VALUES (TG_TABLE_NAME, nextval('layers_revision_seq'))
    ON CONFLICT ("table") DO UPDATE SET revision = EXCLUDED.revision;
    RETURN NULL;
END $$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION layers_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layers_layerrevision ("table", revision) VALUES (TG_TABLE_NAME, 1)
    ON CONFLICT ("table") DO UPDATE SET revision = layers_layerrevision.revision + 1;
    RETURN NULL;
END $$;
DROP SEQUENCE IF EXISTS layers_revision_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("layers", "0003_mercator_copy_revisions")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
