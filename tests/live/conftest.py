"""The live tests write from other threads/processes (the ingest worker):
they use committed transactions (transactional_db). The raw telemetry table
is partitioned and unmanaged, so the flush after each test does not empty it:
this fixture does."""
import pytest
from django.db import connection

from live import partitions


@pytest.fixture
def live_db(transactional_db):
    partitions.forget()
    yield
    with connection.cursor() as cur:
        cur.execute("TRUNCATE live_telemetry")
    partitions.forget()
