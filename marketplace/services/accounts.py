"""Writes on accounts and API tokens."""

import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from creators.services import creator_profile_create
from marketplace.models import REVIEWERS_GROUP, ApiToken, User

# A token's last_used_at is written at most this often, so authenticated API traffic is not one UPDATE a request.
API_TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


@transaction.atomic
def user_signup(*, email: str, password: str, role: str, display_name: str = "", country: str = "") -> User:
    """Create a creator or buyer account; a creator also gets their creator profile."""
    if role not in (User.Role.CREATOR, User.Role.BUYER):
        raise ValidationError({"role": "Choose whether you sign up as a creator or a buyer."})
    email = User.objects.normalize_email(email).strip().lower()
    email_taken = ValidationError(
        {"email": ValidationError("An account with this email address already exists.", code="conflict")}
    )
    if User.objects.filter(email__iexact=email).exists():
        raise email_taken
    try:
        user = User.objects.create_user(
            email=email, password=password, role=role, display_name=display_name.strip()
        )
    except IntegrityError as exc:  # two sign-ups with one address racing each other
        raise email_taken from exc
    if role == User.Role.CREATOR:
        creator_profile_create(
            user_id=user.pk, display_name=display_name or email.split("@")[0], country=country
        )
    return user


@transaction.atomic
def reviewer_grant(*, user: User) -> User:
    """Make an account a reviewer: staff, in the reviewers group."""
    group, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
    user.is_staff = True
    user.role = User.Role.STAFF
    user.save(update_fields=["is_staff", "role"])
    user.groups.add(group)
    user.__dict__.pop("is_reviewer", None)  # drop the cached answer computed before the grant
    return user


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    expires_in_days: int | None = None,
    scopes: Collection[str] = tuple(ApiToken.Scope.values),
) -> tuple[ApiToken, str]:
    """Create a personal access token that may do `scopes` (every scope unless chosen: the tokens page always
    chooses); returns the row and the key, which is never retrievable again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, such as the machine that will use it."})
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if not scopes or unknown:
        raise ValidationError(
            {"scopes": f"Choose what the token may do among {', '.join(ApiToken.Scope.values)}."}
        )
    if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise ValidationError(
            {"name": ValidationError("You already have a token with this name.", code="conflict")}
        )
    key = ApiToken.KEY_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[: len(ApiToken.KEY_PREFIX) + 6],
        digest=ApiToken.digest_for(key),
        expires_at=expires_at,
        # Kept in the order the scopes are listed, whatever order they were chosen in.
        scopes=[scope for scope in ApiToken.Scope.values if scope in scopes],
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; revoking twice is harmless."""
    # Another person's token is as absent as one that never existed.
    token = ApiToken.objects.select_for_update().get(user=user, pk=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken, now: datetime) -> None:
    """Record that a token was used, at most once per interval."""
    if token.last_used_at is None or now - token.last_used_at >= API_TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
