from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission


class ReadPublicWriteAuthenticated(BasePermission):
    """Public read unless PUBLIC_READ=0; every write needs a logged-in user."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return settings.PUBLIC_READ or bool(request.user and request.user.is_authenticated)
        return bool(request.user and request.user.is_authenticated)


# --- issue 12: roles of SPEC §4 for uploads and exports ---
def is_planner_or_admin(user) -> bool:
    """Superusers (admins) and the planner group."""
    return bool(user and user.is_authenticated and (user.is_superuser or user.groups.filter(name="planner").exists()))


class ReadPublicWritePlanners(BasePermission):
    """Reads like every public layer; writes (e.g. imagery upload) only by planners and admins."""

    message = "only planners (group planner) and admins may do this"

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return ReadPublicWriteAuthenticated().has_permission(request, view)
        if not (request.user and request.user.is_authenticated):
            self.message = "login or an API token is needed"
            return False
        return is_planner_or_admin(request.user)


EXPORT_FORMATS = frozenset({"csv", "gpkg", "kml", "xlsx", "pdf", "fgb"})


def export_denied(request) -> bool:
    """SPEC §4: exports (?format=csv|gpkg|kml|xlsx|pdf|fgb, or the same asked by Accept) need login,
    whatever PUBLIC_READ says."""
    renderer = getattr(request, "accepted_renderer", None)
    formats = {(request.GET.get("format") or "").lower(), (getattr(renderer, "format", "") or "").lower()}
    return bool(formats & EXPORT_FORMATS) and not (request.user and request.user.is_authenticated)


class ExportsNeedLogin(BasePermission):
    """Add to a view's permission classes: an export format asked anonymously is a 401."""

    message = "login or an API token is needed for exports (?format=…)"

    def has_permission(self, request, view):
        return not export_denied(request)
