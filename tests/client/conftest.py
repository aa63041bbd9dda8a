import pytest

from tests.notebooks.support import restore_migration_data  # noqa: F401 (session fixture)


@pytest.fixture(autouse=True)
def _restore_migration_data_at_the_end(restore_migration_data):
    """See tests.notebooks.support.restore_migration_data."""
