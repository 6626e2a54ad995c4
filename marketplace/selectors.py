"""Reads of marketplace: accounts and API tokens, orders and the licenses members of an organization hold."""

from typing import Any

import orjson
from django.db.models import QuerySet
from django.utils import timezone

from datasets.models import BundleFile

from .models import ApiToken, LicenseGrant, Membership, Order, User


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


def orders_of_buyer(*, user: User) -> QuerySet[Order]:
    return Order.objects.filter(buyer=user).select_related(
        "version__dataset", "terms_version__terms", "organization", "grant"
    )


def grants_of_member(*, user: User) -> QuerySet[LicenseGrant]:
    """Every license held by an organization the user belongs to, newest first."""
    return LicenseGrant.objects.filter(
        organization__in=Membership.objects.filter(user=user).values("organization")
    ).select_related("version__dataset", "terms_version__terms", "organization", "order")


def grant_of_member(*, user: User, public_id: Any) -> LicenseGrant | None:
    """One license the user's organizations hold, or None (someone else's looks the same as none)."""
    return grants_of_member(user=user).filter(public_id=public_id).first()


def grant_files(*, grant: LicenseGrant) -> list[BundleFile]:
    """The files of the bundle a grant covers: its version's, documents first."""
    return list(grant.version.files.order_by("kind", "path"))


def grant_by_public_id(*, public_id: Any) -> LicenseGrant | None:
    """A license by its id, for its public certificate page."""
    return (
        LicenseGrant.objects.select_related("version__dataset", "terms_version__terms", "organization")
        .filter(public_id=public_id)
        .first()
    )


def certificate_document(grant: LicenseGrant) -> bytes:
    """The certificate file a licensee keeps: the certificate to read, the exact text signed (the signature
    covers those UTF-8 bytes, so no re-serialising is needed to check it), the signature and its algorithm."""
    return orjson.dumps(
        {
            "algorithm": "Ed25519",
            "certificate": orjson.loads(grant.certificate),
            "signed_text": grant.certificate,
            "signature": grant.certificate_signature,
        },
        option=orjson.OPT_INDENT_2,
    )
