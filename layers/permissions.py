"""Who may do what on the map layers (documented in docs/api.md).

Reads are public unless PUBLIC_READ=0. Writes map to Django model
permissions (`layers.add_streetlight`, `layers.change_roadsegment`, …) that
the groups below hold; superusers hold all. The groups are created after
every migrate (`ensure_groups`), so a fresh machine has them."""
from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission

# group → {model name: actions}
GROUP_PERMISSIONS = {
    "planner": {
        "streetlight": ("view", "add", "change", "delete"),
        "roadsegment": ("view", "add", "change", "delete"),
        "panel": ("view", "add", "change", "delete"),
        "area": ("view",),
        "photo": ("view", "add"),
        "auditlog": ("view",),
    },
    "field_officer": {
        "streetlight": ("view", "add", "change"),
        "roadsegment": ("view", "change"),
        "panel": ("view", "add", "change"),
        "area": ("view",),
        "photo": ("view", "add"),
    },
    "analyst": {
        "streetlight": ("view",),
        "roadsegment": ("view",),
        "panel": ("view",),
        "area": ("view",),
        "photo": ("view",),
    },
}

METHOD_ACTION = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


def ensure_groups(**kwargs) -> None:
    """Create the groups with their permissions (idempotent; post_migrate)."""
    from django.contrib.auth.models import Group, Permission

    for group_name, models in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        perms = list(Permission.objects.filter(content_type__app_label="layers", codename__in=wanted))
        group.permissions.add(*perms)


def can_read(request) -> bool:
    return settings.PUBLIC_READ or bool(request.user and request.user.is_authenticated)


class LayerPermission(BasePermission):
    """Public read (unless PUBLIC_READ=0); writes need the model permission
    of the view's layer: `view.permission_action(request)` names it."""

    message = "You are not allowed to do this on this layer."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return can_read(request)
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method not in METHOD_ACTION:  # TRACE etc.: no permission maps to it; the view answers 405
            return True
        perm = view.required_permission(request)
        if not user.has_perm(perm):
            self.message = f"permission {perm} is required (your groups: {', '.join(user.groups.values_list('name', flat=True)) or 'none'})"
            return False
        return True
