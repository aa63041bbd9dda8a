import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local development superuser admin/admin if no superuser exists (never with DJANGO_DEBUG=0)."

    def handle(self, *args, **opts):
        from django.conf import settings

        User = get_user_model()
        if not settings.DEBUG or User.objects.filter(is_superuser=True).exists():
            return
        password = os.environ.get("GEO_PLATFORM_ADMIN_PASSWORD", "admin")
        User.objects.create_superuser("admin", "admin@localhost", password)
        self.stdout.write("created superuser 'admin' (development only)")
