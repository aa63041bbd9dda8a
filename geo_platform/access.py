"""The one access policy (SPEC §4): every door declares a `Policy` instead of
re-implementing "public read unless PUBLIC_READ=0, token or session".

A policy says who may read (GET/HEAD/OPTIONS), write (POST/PUT/PATCH),
delete and export (``?format=csv|gpkg|kml|xlsx|pdf|fgb``), each with a `Rule`:

- ``PUBLIC``  — anyone unless ``PUBLIC_READ=0``, then logged-in users;
- ``ANYONE``  — anyone, whatever ``PUBLIC_READ`` says (citizens' reports);
- ``LOGIN``   — a logged-in user (session, API token or, where a view allows it, HTTP Basic);
- ``Role("planner", ...)`` — superusers and members of one of the groups (``staff=True``: staff too);
- ``MODEL_PERMISSION`` — the Django model permission the view names (``view.required_permission(request)``).

Declaring it:

- DRF views: ``permission_classes = [POLICY]`` (a policy makes its own DRF permission);
- plain Django views and tile / TileJSON specs: ``POLICY.check(request)`` raises
  `NotAuthenticated` (401) or `PermissionDenied` (403), which `geo_platform.errors` maps.

An anonymous request that a rule refuses gets 401, a logged-in one 403."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

EXPORT_FORMATS = frozenset({"csv", "gpkg", "kml", "xlsx", "pdf", "fgb"})


def _logged_in(user) -> bool:
    return bool(user and user.is_authenticated)


class Rule:
    message = _("You are not allowed to do this.")

    def allows(self, user, request=None, view=None) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def refusal(self, user, request=None, view=None) -> str:
        """Why a logged-in user is refused (the 403's detail)."""
        return str(self.message)


class _Anyone(Rule):
    def allows(self, user, request=None, view=None) -> bool:
        return True

    def __repr__(self):
        return "ANYONE"


class _Public(Rule):
    def allows(self, user, request=None, view=None) -> bool:
        return bool(settings.PUBLIC_READ) or _logged_in(user)

    def __repr__(self):
        return "PUBLIC"


class _Login(Rule):
    def allows(self, user, request=None, view=None) -> bool:
        return _logged_in(user)

    def __repr__(self):
        return "LOGIN"


@dataclass(frozen=True)
class Role(Rule):
    """Superusers and members of any of ``groups`` (``staff=True``: staff users too)."""

    groups: tuple[str, ...] = ()
    staff: bool = False

    def __init__(self, *groups: str, staff: bool = False):
        object.__setattr__(self, "groups", tuple(groups))
        object.__setattr__(self, "staff", staff)

    @property
    def message(self):
        if not self.groups:
            return _("Only admins may do this.")
        return _("Only admins or these groups may do this: %(groups)s.") % {"groups": ", ".join(self.groups)}

    def allows(self, user, request=None, view=None) -> bool:
        if not _logged_in(user):
            return False
        if user.is_superuser or (self.staff and user.is_staff):
            return True
        return bool(self.groups) and user.groups.filter(name__in=self.groups).exists()


class _ModelPermission(Rule):
    """The model permission the view names for this request (layers: ``layers.change_roadsegment``)."""

    def allows(self, user, request=None, view=None) -> bool:
        if not _logged_in(user):
            return False
        perm = self._perm(request, view)
        return perm is None or user.has_perm(perm)

    @staticmethod
    def _perm(request, view):
        return view.required_permission(request) if view is not None and hasattr(view, "required_permission") else None

    def refusal(self, user, request=None, view=None) -> str:
        groups = ", ".join(user.groups.values_list("name", flat=True)) if _logged_in(user) else ""
        return _("The permission %(perm)s is needed (your groups: %(groups)s).") % {
            "perm": self._perm(request, view), "groups": groups or "-"}

    def __repr__(self):
        return "MODEL_PERMISSION"


ANYONE, PUBLIC, LOGIN, MODEL_PERMISSION = _Anyone(), _Public(), _Login(), _ModelPermission()
PLANNER = Role("planner")
ADMIN = Role()


def request_user(request, *, strict: bool = False):
    """The user of a plain Django view: the session's, else an API token's (DRF's TokenAuthentication).
    A bad token raises AuthenticationFailed (401) when ``strict``, else counts as anonymous."""
    user = getattr(request, "user", None)
    if _logged_in(user):
        return user
    from rest_framework.authentication import TokenAuthentication

    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        if strict:
            raise
        return user
    if found:
        request.user = found[0]
        return found[0]
    return user


def is_export(request) -> bool:
    """An export format asked by ``?format=`` or by the negotiated renderer."""
    renderer = getattr(request, "accepted_renderer", None)
    formats = {(request.GET.get("format") or "").lower(), (getattr(renderer, "format", "") or "").lower()}
    return bool(formats & EXPORT_FORMATS)


@dataclass(frozen=True)
class Policy:
    """Who may read, write, delete and export. ``delete=None``: as ``write``."""

    read: Rule = PUBLIC
    write: Rule = LOGIN
    delete: Rule | None = None
    export: Rule = LOGIN
    name: str = ""

    def rules_for(self, request) -> list[Rule]:
        method = request.method
        if method in SAFE_METHODS:
            rules = [self.read]
        elif method == "DELETE":
            rules = [self.delete or self.write]
        else:
            rules = [self.write]
        if is_export(request):
            rules.append(self.export)
        return rules

    def refused(self, user, request, view=None) -> Rule | None:
        """The first rule refusing this request, or None."""
        return next((r for r in self.rules_for(request) if not r.allows(user, request, view)), None)

    def allows(self, request, view=None) -> bool:
        return self.refused(request_user(request), request, view) is None

    def check(self, request, view=None) -> None:
        """Plain views: raise NotAuthenticated (anonymous) or PermissionDenied (logged in)."""
        user = request_user(request, strict=True)
        rule = self.refused(user, request, view)
        if rule is None:
            return
        if not _logged_in(user):
            raise NotAuthenticated(_("Login or an API token is needed."))
        raise PermissionDenied(rule.refusal(user, request, view))

    def __call__(self) -> BasePermission:
        """DRF instantiates each of ``permission_classes``: a policy gives its permission."""
        return DeclaredPermission(self)


class DeclaredPermission(BasePermission):
    """DRF's side of a `Policy` (DRF answers 401 for anonymous requests, 403 otherwise)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.message = None

    def has_permission(self, request, view):
        rule = self.policy.refused(request.user, request, view)
        if rule is None:
            return True
        if _logged_in(request.user):
            self.message = rule.refusal(request.user, request, view)
        else:
            self.message = _("Login or an API token is needed.")
        return False


# The policies the apps declare (each app may define its own the same way).
PUBLIC_READ_LOGIN_WRITE = Policy(name="public read, login write")
PUBLIC_COMPUTE = Policy(read=PUBLIC, write=PUBLIC, name="public read; POSTs that only compute")
LOGIN_ONLY = Policy(read=LOGIN, write=LOGIN, name="login")
PLANNERS_WRITE = Policy(read=PUBLIC, write=PLANNER, name="public read, planners write")
PLANNERS_ONLY = Policy(read=PLANNER, write=PLANNER, name="planners")
ADMINS_ONLY = Policy(read=ADMIN, write=ADMIN, name="admins")
MODEL_PERMISSIONS = Policy(read=PUBLIC, write=MODEL_PERMISSION, name="public read, model permission write")


class DefaultPolicy(DeclaredPermission):
    """``DEFAULT_PERMISSION_CLASSES``: views declaring nothing get public read, login write."""

    def __init__(self):
        super().__init__(PUBLIC_READ_LOGIN_WRITE)
