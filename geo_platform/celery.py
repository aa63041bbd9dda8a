"""Celery application (issue 18, SPEC §9): broker and results on Redis, the
settings named CELERY_* in geo_platform/settings.py. Start a worker with
`celery -A geo_platform worker` (the `worker:` line of the Procfile)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings")

app = Celery("geo_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
