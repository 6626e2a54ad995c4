"""Revocation notices: every licensee of a version whose samples were revoked is told which samples to delete
(email, signed webhook, the feed) and is given the version without them at no charge once it is published.

Each step is idempotent, so the signal's task, a retried task and the periodic catch-up can all run it: a
notice is unique per (revocation, license), its members are emailed once (`emailed_at`), a delivery is
unique per (notice, endpoint) and claims each attempt before making it, and one free upgrade is granted per
(organization, replacement version, tier).
"""

import functools
import hashlib
import hmac
import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import outbound
from datasets.models import DatasetVersion, Revocation
from marketplace.models import (
    LicenseGrant,
    Membership,
    Order,
    Organization,
    RevocationNotice,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from marketplace.selectors import revocation_notice_document

from . import orders

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Datamarket-Signature"
# The whole attempt (connecting, TLS, sending, the answer's status), however slowly the endpoint answers: what
# holds a worker, beside the name's lookup (bounded by the system resolver).
WEBHOOK_DEADLINE_SECONDS = 10
MAX_DELIVERY_ATTEMPTS = 8
# The wait after the first failed attempt; it doubles after each further one, up to the cap.
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 6 * 60 * 60
# An attempt not recorded by then (its worker died) is due again: longer than any attempt can take.
ATTEMPT_LEASE_SECONDS = 6 * WEBHOOK_DEADLINE_SECONDS
MAX_ENDPOINTS_PER_ORGANIZATION = 10
# A version replaced again and again is followed this far, never in a loop.
MAX_REPLACEMENT_CHAIN = 100


def _enqueue_delivery(delivery_id: int) -> None:
    from marketplace.tasks import webhook_deliver  # the task module imports these services

    webhook_deliver.delay(delivery_id)


# --- Notices ---


def revocation_notify(*, revocation_id: int) -> list[RevocationNotice]:
    """Tell every holder of a license on the revoked version, once: a notice, an email to the members of the
    organization holding it, a delivery to each of its active webhook endpoints; and the replacement at no
    charge when it is already published. Licenses suspended by a refund or dispute are told too: their
    holders still have the files."""
    revocation = Revocation.objects.select_related("version").get(pk=revocation_id)
    grants = LicenseGrant.objects.filter(version_id=revocation.version_id).order_by("pk")
    notices = [_notice_record(revocation, grant) for grant in grants]
    for notice in notices:
        _notice_email(notice)
    replacement = _offered_replacement(revocation)
    if replacement is not None:
        for notice in notices:
            _notice_upgrade(notice, replacement)
    return notices


@transaction.atomic
def _notice_record(revocation: Revocation, grant: LicenseGrant) -> RevocationNotice:
    notice, created = RevocationNotice.objects.get_or_create(revocation=revocation, grant=grant)
    if created:
        # Endpoints added later do not receive earlier notices: the feed has them all.
        for endpoint in WebhookEndpoint.objects.filter(organization_id=grant.organization_id, is_active=True):
            delivery = WebhookDelivery.objects.create(notice=notice, endpoint=endpoint)
            transaction.on_commit(functools.partial(_enqueue_delivery, delivery.pk))
    return notice


def _notice_email(notice: RevocationNotice) -> None:
    """Email the notice to each member of the organization, unless that was done."""
    from marketplace.tasks import email_send  # the task module imports these services

    with transaction.atomic():
        notice = (
            RevocationNotice.objects.select_for_update(of=("self",))
            .select_related("revocation__version__dataset", "revocation__replacement", "grant__organization")
            .get(pk=notice.pk)
        )
        if notice.emailed_at is not None:
            return
        recipients = list(
            Membership.objects.filter(organization_id=notice.grant.organization_id, user__is_active=True)
            .order_by("user__email")
            .values_list("user__email", flat=True)
        )
        revocation = notice.revocation
        count = len(revocation.sample_keys)
        context = {
            "notice": notice,
            "revocation": revocation,
            "version": revocation.version,
            "count": count,
            "license_url": settings.SITE_URL + reverse("license-detail", args=[notice.grant.public_id]),
            "keys_url": settings.SITE_URL + reverse("license-revoked-samples", args=[notice.grant.public_id]),
            "site_name": settings.SITE_NAME,
        }
        subject = f"Delete {count} sample{'s' if count != 1 else ''} of {revocation.version.name}: consent was withdrawn"
        body = render_to_string("marketplace/email/revocation_notice.txt", context)
        # Queued before emailed_at commits: if the broker is down this raises, nothing is marked, and the
        # catch-up tries again. One message per member, so no one sees the others' addresses.
        for email in recipients:
            email_send.delay(subject=subject, body=body, to=[email])
        notice.emailed_at = timezone.now()
        notice.save(update_fields=["emailed_at"])


# --- Free upgrades ---


def upgrades_grant(*, version_id: int) -> list[LicenseGrant]:
    """A version was published: each holder of a license whose samples it replaces gets a license on it, at
    no charge, once. Returns the licenses given by this call."""
    version = DatasetVersion.objects.get(pk=version_id)
    if version.status != DatasetVersion.Status.PUBLISHED:
        return []  # replaced again before this ran: the version on sale now is the one offered
    replaced = _versions_replaced_by(version)
    notices = (
        RevocationNotice.objects.filter(upgrade__isnull=True, grant__status=LicenseGrant.Status.ACTIVE)
        .filter(Q(revocation__replacement=version) | Q(revocation__version_id__in=replaced))
        .order_by("pk")
    )
    return [grant for notice in notices if (grant := _notice_upgrade(notice, version)) is not None]


def _versions_replaced_by(version: DatasetVersion) -> list[int]:
    """The versions `version` replaced, directly or through versions in between."""
    replaced: list[int] = []
    current = version.supersedes_id
    while current is not None and current not in replaced and len(replaced) < MAX_REPLACEMENT_CHAIN:
        replaced.append(current)
        current = DatasetVersion.objects.filter(pk=current).values_list("supersedes_id", flat=True).first()
    return replaced


def _offered_replacement(revocation: Revocation) -> DatasetVersion | None:
    """The published version a revocation's licensees are owed, if there is one yet."""
    version = revocation.replacement or getattr(revocation.version, "superseded_by", None)
    for _ in range(MAX_REPLACEMENT_CHAIN):
        if version is None or version.status != DatasetVersion.Status.SUPERSEDED:
            break
        version = getattr(version, "superseded_by", None)
    if version is not None and version.status == DatasetVersion.Status.PUBLISHED:
        return version
    return None


@transaction.atomic
def _notice_upgrade(notice: RevocationNotice, version: DatasetVersion) -> LicenseGrant | None:
    """The license on `version` a notice's holder gets at no charge: made once per organization, version and
    tier, through the same fulfilment as a sale, under the terms version they agreed to."""
    grant = LicenseGrant.objects.select_related("order", "terms_version").get(pk=notice.grant_id)
    if grant.status != LicenseGrant.Status.ACTIVE:
        return None  # refunded or disputed: nothing was paid that a replacement would make good
    # Locked: however many notices and workers reach this organization, one upgrade per version and tier.
    Organization.objects.select_for_update().get(pk=grant.organization_id)
    notice = RevocationNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.upgrade_id is not None:
        return notice.upgrade
    upgrade = LicenseGrant.objects.filter(
        organization_id=grant.organization_id,
        version=version,
        terms_version__terms_id=grant.terms_version.terms_id,
        status=LicenseGrant.Status.ACTIVE,
    ).first()
    if upgrade is None:
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    buyer_id=grant.order.buyer_id,
                    organization_id=grant.organization_id,
                    version=version,
                    terms_version=grant.terms_version,
                    method=Order.Method.UPGRADE,
                    amount_cents=0,
                    currency=grant.order.currency,
                    upgrade_of=grant.order,
                )
                orders.order_mark_paid(order=order, amount_cents=0, currency=order.currency)
                upgrade = orders.order_fulfil(order=order)
        except ValidationError:
            # An exclusive tier of the new version sold to someone else first: the notice stands, without it.
            logger.warning("No free upgrade of license %s to version %s", grant.public_id, version.pk)
            return None
    notice.upgrade = upgrade
    notice.save(update_fields=["upgrade"])
    return upgrade


# --- Webhook endpoints ---


def _require_owner(organization: Organization, actor: User) -> None:
    if not Membership.objects.filter(
        organization=organization, user=actor, role=Membership.Role.OWNER
    ).exists():
        raise PermissionDenied("Only an owner of the organization manages its webhook endpoints.")


# What a buyer is told when the address check refuses their URL (outbound.checked_target's reasons).
_REFUSED_TARGET = {
    outbound.BAD_PORT: "Enter a port number from 1 to 65535.",
    outbound.ADDRESS_NOT_ALLOWED: "{host} is a local or private address: notices are sent only to endpoints on "
    "the public internet.",
    outbound.NOT_RESOLVED: "{host} could not be resolved: check that it is spelt right and published in DNS.",
}


def _checked_url(url: str) -> str:
    url = url.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as error:
        raise ValidationError(
            {"url": "Enter a full URL, such as https://example.com/hooks/datamarket."}
        ) from error
    if len(url) > WebhookEndpoint._meta.get_field("url").max_length:  # type: ignore[operator]
        raise ValidationError({"url": "This URL is too long: 500 characters at most."})
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ValidationError(
            {"url": "Leave credentials out of the URL: check each notice's signature instead."}
        )
    # Plain http only where there is no one on the way to read it: a developer's machine, or the tests'.
    if parts.scheme != "https" and not (settings.DEBUG or settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES):
        raise ValidationError(
            {"url": "Use an https:// URL: notices name your licenses and must travel encrypted."}
        )
    try:
        # The check each delivery makes again, on the address it then connects to.
        outbound.checked_target(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
    except outbound.OutboundError as error:
        raise ValidationError({"url": _REFUSED_TARGET[error.reason].format(host=parts.hostname)}) from error
    return url


@transaction.atomic
def webhook_endpoint_create(
    *, actor: User, url: str, organization: Organization | None = None
) -> WebhookEndpoint:
    """Register where the organization's revocation notices are posted; its `secret` signs them. The caller
    shows the secret this once."""
    if organization is None:
        if not actor.is_buyer:
            raise PermissionDenied("Webhooks announce changes to licenses: they are for buyer accounts.")
        organization = orders.organization_default(user=actor)
    _require_owner(organization, actor)
    url = _checked_url(url)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.webhook_endpoints.count() >= MAX_ENDPOINTS_PER_ORGANIZATION:
        raise ValidationError(
            f"An organization has {MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints at most; delete one first.",
            code="conflict",
        )
    return WebhookEndpoint.objects.create(
        organization=organization, url=url, secret=WebhookEndpoint.SECRET_PREFIX + secrets.token_urlsafe(32)
    )


@transaction.atomic
def webhook_endpoint_set_active(*, endpoint: WebhookEndpoint, actor: User, active: bool) -> WebhookEndpoint:
    """Pause or resume an endpoint; deliveries due while it was paused are made when it is resumed."""
    _require_owner(endpoint.organization, actor)
    endpoint.is_active = active
    endpoint.save(update_fields=["is_active"])
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: User) -> None:
    """Remove an endpoint and its delivery log; the notices stay in the feed."""
    _require_owner(endpoint.organization, actor)
    endpoint.delete()


# --- Webhook deliveries ---


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The `Datamarket-Signature` header: the time signed, and HMAC-SHA256 of "<time>.<body>" in hex (the
    scheme Stripe uses, so the time cannot be swapped to replay an old body)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_payload(notice: RevocationNotice) -> dict[str, Any]:
    return {"type": "revocation", **revocation_notice_document(notice)}


def delivery_retry_seconds(attempts: int) -> int:
    """How long to wait after `attempts` failed attempts: 30 s, then twice as long each time, 6 h at most."""
    return min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery | None:
    """Make the delivery's next attempt if it is due; the delivery as it stands after, or None if nothing
    was due (delivered, failed, paused, or another worker holds the attempt)."""
    now = timezone.now()
    # Claimed and counted before posting, in one statement: a second worker finds nothing due, and an
    # attempt whose worker died still counts towards the limit.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
        attempts__lt=MAX_DELIVERY_ATTEMPTS,
        endpoint__is_active=True,
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + timedelta(seconds=ATTEMPT_LEASE_SECONDS))
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related(
        "endpoint", "notice__revocation__version__dataset", "notice__revocation__replacement", "notice__grant"
    ).get(pk=delivery_id)
    body = orjson.dumps(webhook_payload(delivery.notice))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"{settings.SITE_NAME}-Webhooks/1",
        SIGNATURE_HEADER: webhook_signature(
            secret=delivery.endpoint.secret, timestamp=int(time.time()), body=body
        ),
    }
    status_code, error = _post(delivery.endpoint.url, body, headers)
    return _attempt_record(delivery, status_code, error)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST the body; the status the endpoint answered (None if none) and what went wrong, in fixed words: the
    log is shown to the buyer, so it never repeats what the other end said. The address is checked again
    here: an endpoint registered before the check, or whose name now leads inward, is "address not allowed".
    A redirect is an answer, not a delivery: the notice is not re-posted somewhere the buyer did not name."""
    try:
        status = outbound.post(
            url,
            body,
            headers,
            deadline_seconds=WEBHOOK_DEADLINE_SECONDS,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
        )
    except outbound.OutboundError as error:
        return None, error.reason
    return status, "" if 200 <= status < 300 else f"the endpoint answered {status}"


def _attempt_record(delivery: WebhookDelivery, status_code: int | None, error: str) -> WebhookDelivery:
    now = timezone.now()
    if status_code is not None and 200 <= status_code < 300:
        delivery.status, delivery.delivered_at, error = WebhookDelivery.Status.DELIVERED, now, ""
    elif delivery.attempts >= MAX_DELIVERY_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delivery_retry_seconds(delivery.attempts))
    delivery.last_status_code, delivery.last_error = status_code, error[:500]
    # An update, not save(): the endpoint (and its log) may have been deleted while the attempt ran.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=delivery.status,
        delivered_at=delivery.delivered_at,
        next_attempt_at=delivery.next_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
    )
    return delivery


def seconds_until(moment: datetime) -> int:
    return max(0, int((moment - timezone.now()).total_seconds()) + 1)


# --- Catching up ---


def revocations_catch_up() -> dict[str, int]:
    """What a lost signal or task left undone: notices not made (the broker was down, or a license on the
    version was granted after the revocation), emails not sent, upgrades not given, deliveries due."""
    now = timezone.now()
    notified = RevocationNotice.objects.filter(revocation_id=OuterRef(OuterRef("pk"))).values("grant_id")
    unnotified = Revocation.objects.filter(
        Exists(LicenseGrant.objects.filter(version_id=OuterRef("version_id")).exclude(pk__in=notified))
    )
    revocation_ids = list(unnotified.order_by("pk").values_list("pk", flat=True))
    for revocation_id in revocation_ids:
        revocation_notify(revocation_id=revocation_id)
    # A minute's grace: the first sending of a notice made just now may still be under way.
    for notice in RevocationNotice.objects.filter(
        emailed_at__isnull=True, created_at__lte=now - timedelta(minutes=1)
    ):
        _notice_email(notice)
    upgraded = 0
    owed = RevocationNotice.objects.filter(
        upgrade__isnull=True, grant__status=LicenseGrant.Status.ACTIVE
    ).select_related("revocation__version", "revocation__replacement")
    for notice in owed:
        replacement = _offered_replacement(notice.revocation)
        if replacement is not None and _notice_upgrade(notice, replacement) is not None:
            upgraded += 1
    # An attempt that never recorded its result, when it was the last one allowed.
    WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, attempts__gte=MAX_DELIVERY_ATTEMPTS, next_attempt_at__lte=now
    ).update(status=WebhookDelivery.Status.FAILED, last_error="The last attempt did not finish.")
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
        ).values_list("pk", flat=True)
    )
    for delivery_id in due:
        _enqueue_delivery(delivery_id)
    return {"revocations": len(revocation_ids), "upgrades": upgraded, "deliveries": len(due)}
