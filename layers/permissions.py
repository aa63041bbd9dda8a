"""Who may do what on the map layers (documented in docs/api.md).

Access itself is declared with geo_platform.access (policy MODEL_PERMISSIONS:
reads are public unless PUBLIC_READ=0). Writes map to Django model
permissions (`layers.add_streetlight`, `layers.change_roadsegment`, …) that
the groups below hold; superusers hold all. The groups are created after
every migrate (`ensure_groups`), so a fresh machine has them."""
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

