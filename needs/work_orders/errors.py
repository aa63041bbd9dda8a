"""Domain exceptions of work orders (the views map them to 403 / 409)."""
from __future__ import annotations


class WorkOrderError(Exception):
    """Base of the work-order domain errors."""


class NotAllowed(WorkOrderError):
    """The user may not do this to this order (→ 403)."""


class IllegalTransition(WorkOrderError):
    """The order's state does not allow the action (→ 409 with its `status`)."""

    def __init__(self, order, action: str, allowed: str = ""):
        self.current = order.status
        super().__init__(f"work order {order.pk} is {order.status}: cannot {action} it (allowed now: {allowed or 'none (final state)'})")


class DuplicateOrder(WorkOrderError):
    """An active order already covers the need (→ 409 with that order as `current`)."""

    def __init__(self, order):
        self.order = order
        super().__init__(f"work order {order.pk} ({order.status}) already covers this need")
