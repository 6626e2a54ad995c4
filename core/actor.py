"""Who acts through a service: the account that asked.

The site's User model lives in the top layer, so lower layers cannot name it; they name this protocol, which
the User model satisfies, and mypy checks every call against it.
"""

from typing import Any, Protocol, cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request


class Actor(Protocol):
    @property
    def pk(self) -> Any: ...

    @property
    def email(self) -> str: ...

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def is_reviewer(self) -> bool: ...


def signed_in_actor(request: HttpRequest | Request) -> Actor:
    """The account behind a view only signed-in people reach (login_required, IsAuthenticated)."""
    if not request.user.is_authenticated:
        raise PermissionDenied("Log in first.")
    return cast(Actor, request.user)
