"""Writes on accounts and API tokens."""

import secrets
from collections.abc import Collection
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from creators.services import creator_profile_create, creator_profile_discard
from marketplace.models import REVIEWERS_GROUP, ApiToken, User
from marketplace.tokens import account_confirmation_token

# A token's last_used_at is written at most this often, so authenticated API traffic is not one UPDATE a request.
API_TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def _address(email: str) -> str:
    return User.objects.normalize_email(email).strip().lower()


def _require_signup_role(role: str) -> None:
    if role not in (User.Role.CREATOR, User.Role.BUYER):
        raise ValidationError({"role": "Choose whether you sign up as a creator or a buyer."})


def _creator_profile_give(user: User, *, country: str) -> None:
    if user.role == User.Role.CREATOR:
        creator_profile_create(
            user_id=user.pk, display_name=user.display_name or user.email.split("@")[0], country=country
        )


@transaction.atomic
def user_create(*, email: str, password: str, role: str, display_name: str = "", country: str = "") -> User:
    """Create a confirmed creator or buyer account, usable at once (demo and load-test data, not sign-up)."""
    _require_signup_role(role)
    user = User.objects.create_user(
        email=_address(email), password=password, role=role, display_name=display_name.strip()
    )
    _creator_profile_give(user, country=country)
    return user


@transaction.atomic
def user_signup(*, email: str, password: str, role: str, display_name: str = "", country: str = "") -> str:
    """Sign someone up by email; returns the address the email goes to.

    Whatever the address, the caller sees the same thing and the request does the same work: one password
    hash, one email queued. Only the email differs, and only the address's owner reads it: a confirmation link
    for a new address (or one whose sign-up was never confirmed, which takes the new details), and for an
    account that exists a note saying how to log in or reset the password.
    """
    from marketplace.tasks import email_send  # the task module imports these services

    _require_signup_role(role)
    email = _address(email)
    # Hashed before anything is looked up, so a taken address costs the hash an account would.
    password_hash = make_password(password)
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create(email=email, role=role, is_active=False, email_confirmed_at=None)
        except IntegrityError:  # another sign-up with this address committed first: this one replaces it
            user = User.objects.select_for_update().get(email__iexact=email)
    context = {"site_name": settings.SITE_NAME, "email": email}
    if user.email_confirmed_at is None and not user.is_active:
        user.password, user.role, user.display_name = password_hash, role, display_name.strip()
        user.save(update_fields=["password", "role", "display_name"])
        creator_profile_discard(user_id=user.pk)
        _creator_profile_give(user, country=country)
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        context |= {
            "url": settings.SITE_URL
            + reverse("signup-confirm", args=[uid, account_confirmation_token.make_token(user)]),
            "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        }
        subject, template = f"Confirm your {settings.SITE_NAME} account", "signup_confirm.txt"
    else:
        context |= {
            "login_url": settings.SITE_URL + reverse("login"),
            "reset_url": settings.SITE_URL + reverse("password_reset"),
        }
        subject, template = (
            f"Signing up to {settings.SITE_NAME} with your address",
            "signup_account_exists.txt",
        )
    email_send.delay_on_commit(
        subject=subject, body=render_to_string(f"marketplace/email/{template}", context), to=[email]
    )
    return email


@transaction.atomic
def user_confirm(*, uidb64: str, token: str) -> User:
    """Open the link of a sign-up email: the account becomes active. The link works once."""
    invalid = ValidationError("This confirmation link is not valid.", code="invalid_link")
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        raise invalid from None
    user = User.objects.select_for_update().filter(pk=pk).first()
    if user is None or user.email_confirmed_at is not None:
        raise invalid
    if not account_confirmation_token.check_token(user, token):
        raise invalid
    user.is_active, user.email_confirmed_at = True, timezone.now()
    user.save(update_fields=["is_active", "email_confirmed_at"])
    return user


def password_reset_send(*, email: str) -> None:
    """Email a link to choose a new password to each active account with this address (none for an unknown one).

    Run by the worker: the request that asked only queued the address, whether or not an account has it.
    """
    form = PasswordResetForm({"email": email})
    if form.is_valid():
        site = urlsplit(settings.SITE_URL)
        # Django's own reset email: its accounts query, token and templates, with links to this site.
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            extra_email_context={"site_name": settings.SITE_NAME},
        )


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
