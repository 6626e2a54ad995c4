"""What every signed-in page of marketplace needs."""

from typing import cast

from django.http import HttpRequest

from marketplace.models import User


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in account, typed as ours (only for views behind login_required)."""
    return cast(User, request.user)
