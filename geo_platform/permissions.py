from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission


class ReadPublicWriteAuthenticated(BasePermission):
    """Public read unless PUBLIC_READ=0; every write needs a logged-in user."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return settings.PUBLIC_READ or bool(request.user and request.user.is_authenticated)
        return bool(request.user and request.user.is_authenticated)
