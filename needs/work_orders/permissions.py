"""Who may do what to a work order: the one place (SPEC §4 groups).

Planners (group `planner`) and admins create, assign and reject; only the
assigned officer (group `field_officer`) starts and closes; the assigned
officer may also reject."""
from __future__ import annotations

from django.utils.translation import gettext_noop

from needs.work_orders.errors import NotAllowed


def _in_group(user, name: str) -> bool:
    return bool(user and user.is_authenticated and user.groups.filter(name=name).exists())


def is_planner(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or _in_group(user, "planner")))


def is_officer(user) -> bool:
    return _in_group(user, "field_officer")


def _is_assignee(user, order) -> bool:
    return order is not None and order.assigned_to_id is not None and order.assigned_to_id == getattr(user, "pk", None)


# action → (who may, the refusal: an English msgid, translated when NotAllowed is put into words)
RULES = {
    "create": (lambda user, order: is_planner(user), gettext_noop("only planners (group planner) or admins create work orders")),
    "assign": (lambda user, order: is_planner(user), gettext_noop("only planners (group planner) or admins assign work orders")),
    "start": (_is_assignee, gettext_noop("only the assigned officer starts work order {pk}")),
    "close": (_is_assignee, gettext_noop("only the assigned officer closes work order {pk}")),
    "reject": (lambda user, order: is_planner(user) or _is_assignee(user, order),
               gettext_noop("only planners, admins or the assigned officer reject a work order")),
}


def may(user, action: str, order=None) -> bool:
    return RULES[action][0](user, order)


def check(user, action: str, order=None) -> None:
    """NotAllowed unless `user` may do `action` (to `order`)."""
    allowed, message = RULES[action]
    if not allowed(user, order):
        raise NotAllowed(message, pk=getattr(order, "pk", ""))
