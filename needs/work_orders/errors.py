"""Domain exceptions of work orders (the views map them to 403 / 409). Their texts are English msgids
put into words when read (`str()`): in the request's language when the error table answers with them."""
from __future__ import annotations

from django.utils.translation import gettext as _


class WorkOrderError(Exception):
    """Base of the work-order domain errors."""


class NotAllowed(WorkOrderError):
    """The user may not do this to this order (→ 403): a text ({pk}, ... from `params`)."""

    def __init__(self, text: str, **params):
        self.params = params
        super().__init__(text)

    def __str__(self):
        return _(self.args[0]).format(**self.params)


class IllegalTransition(WorkOrderError):
    """The order's state does not allow the action (→ 409 with its `status`)."""

    def __init__(self, order, action: str, allowed: str = ""):
        self.current = order.status
        self.params = {"pk": order.pk, "status": order.status, "action": action, "allowed": allowed}
        super().__init__(order.pk, order.status, action, allowed)

    def __str__(self):
        allowed = self.params["allowed"] or _("none (final state)")
        return _("work order %(pk)s is %(status)s: cannot %(action)s it (allowed now: %(allowed)s)") % {**self.params, "allowed": allowed}


class DuplicateOrder(WorkOrderError):
    """An active order already covers the need (→ 409 with that order as `current`)."""

    def __init__(self, order):
        self.order = order
        super().__init__(order.pk, order.status)

    def __str__(self):
        return _("work order %(pk)s (%(status)s) already covers this need") % {"pk": self.order.pk, "status": self.order.status}
