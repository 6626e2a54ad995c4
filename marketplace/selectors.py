"""Reads on accounts and API tokens."""

from django.db.models import QuerySet
from django.utils import timezone

from .models import ApiToken, User


def api_tokens_of_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")


def api_token_for_key(*, key: str) -> ApiToken | None:
    """The live token this key belongs to, with its user, or None."""
    if not key.startswith(ApiToken.KEY_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_for(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= timezone.now()):
        return None
    return token
