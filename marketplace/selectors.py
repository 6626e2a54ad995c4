"""Reads of marketplace: accounts and API tokens, orders and the licenses members of an organization hold."""

import base64
import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db.models import Prefetch, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from creators.models import CreatorProfile
from datasets.models import BundleFile
from datasets.selectors import version_files_servable
from datasets.signing_key import PublishedKey, key_that_signed

from .models import (
    ApiToken,
    Invitation,
    LedgerEntry,
    LicenseGrant,
    Membership,
    Order,
    Payout,
    RevocationNotice,
    StripeAccount,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from .payments import stripe_enabled


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


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    """The organizations someone is in, with their members and (as `pending_invitations`) open invitations."""
    pending = Invitation.objects.filter(status=Invitation.Status.PENDING).order_by("-sent_at")
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .prefetch_related(
            "organization__memberships__user",
            Prefetch("organization__invitations", queryset=pending, to_attr="pending_invitations"),
        )
        .order_by("-is_default", "organization__name")
    )


def invitation_by_public_id(*, public_id: Any) -> Invitation | None:
    return Invitation.objects.select_related("organization").filter(public_id=public_id).first()


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
    """The files of the bundle a grant covers that may be downloaded now, documents first."""
    return list(version_files_servable(version=grant.version).order_by("kind", "path"))


def grant_by_public_id(*, public_id: Any) -> LicenseGrant | None:
    """A license by its id, for its public certificate page."""
    return (
        LicenseGrant.objects.select_related("version__dataset", "terms_version__terms", "organization")
        .filter(public_id=public_id)
        .first()
    )


def certificate_signing_key(grant: LicenseGrant) -> PublishedKey | None:
    """The site's key, current or retired, that made the certificate's signature; None when none did."""
    try:
        signature = base64.b64decode(grant.certificate_signature, validate=True)
    except ValueError:
        return None
    return key_that_signed(grant.certificate.encode(), signature)


def certificate_document(grant: LicenseGrant) -> bytes:
    """The certificate file a licensee keeps: the certificate to read, the exact text signed (the signature
    covers those UTF-8 bytes, so no re-serialising is needed to check it), the signature and its algorithm,
    and which of the site's published keys it verifies against (all three null when none does)."""
    key = certificate_signing_key(grant)
    key_url = settings.SITE_URL + reverse("signing-key-by-id", args=[key.key_id]) if key else None
    return orjson.dumps(
        {
            "algorithm": "Ed25519",
            "certificate": orjson.loads(grant.certificate),
            "signed_text": grant.certificate,
            "signature": grant.certificate_signature,
            "key_id": key.key_id if key else None,
            "key_status": key.status if key else None,
            "public_key_url": key_url,
        },
        option=orjson.OPT_INDENT_2,
    )


# --- Revenue and payouts ---


@dataclass(frozen=True)
class EarningsRow:
    """One line of a creator's statement: their share of a sale, or its reversal after a refund or dispute."""

    date: datetime.datetime
    order_id: uuid.UUID
    dataset_title: str
    dataset_slug: str
    version_number: int
    item_count: int
    kind: str
    amount_cents: int
    currency: str
    payout_status: str

    @property
    def magnitude_cents(self) -> int:
        """The amount without its sign, for a page that shows a reversal with a minus sign before its price."""
        return abs(self.amount_cents)


@dataclass(frozen=True)
class EarningsMonth:
    month: datetime.date
    amount_cents: int
    # The bar's height, in percent of the best month's.
    share: int


@dataclass(frozen=True)
class EarningsTotals:
    earned_cents: int
    paid_out_cents: int
    awaiting_cents: int


# How many months the earnings chart spans, ending with the current one: at least the few that make a trend
# readable, at most two years.
EARNINGS_CHART_MIN_MONTHS = 6
EARNINGS_CHART_MAX_MONTHS = 24


def ledger_entries_of_creator(*, creator: CreatorProfile) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SHARE, creator=creator)
        .select_related("order__version__dataset")
        .order_by("-created_at", "-pk")
    )


def earnings_rows(*, creator: CreatorProfile) -> list[EarningsRow]:
    """Every sale that used the creator's work, and every reversal of one, newest first."""
    payouts = {payout.order_id: payout for payout in Payout.objects.filter(creator=creator)}
    account = StripeAccount.objects.filter(creator=creator).first()
    connected = account is not None and account.details_submitted
    rows = []
    for entry in ledger_entries_of_creator(creator=creator):
        order = entry.order
        if entry.entry == LedgerEntry.Entry.SALE:
            kind = "sale"
            status = _payout_status_text(order, payouts.get(order.pk), connected=connected)
        else:
            kind = "dispute" if order.status == Order.Status.DISPUTED else "refund"
            status = ""
        rows.append(
            EarningsRow(
                date=entry.created_at,
                order_id=order.public_id,
                dataset_title=order.version.dataset.title,
                dataset_slug=order.version.dataset.slug,
                version_number=order.version.number,
                item_count=entry.item_count,
                kind=kind,
                amount_cents=entry.amount_cents,
                currency=entry.currency,
                payout_status=status,
            )
        )
    return rows


def _payout_status_text(order: Order, payout: Payout | None, *, connected: bool) -> str:
    if payout is None:
        return "nothing to pay"
    if payout.status == Payout.Status.SENT:
        return "sent"
    if order.status == Order.Status.REFUNDED:
        return "cancelled: order refunded"
    if order.status == Order.Status.DISPUTED:
        return "held: order disputed"
    if payout.status == Payout.Status.FAILED:
        retry = "will retry" if payout.attempts < Payout.MAX_ATTEMPTS else "support will contact you"
        return f"failed ({payout.last_error}); {retry}"
    if not stripe_enabled():
        return "pending: payments not configured"
    if not connected:
        return "pending: connect Stripe"
    return "pending"


def earnings_totals(*, creator: CreatorProfile) -> EarningsTotals:
    """Net earnings (after refunds), what has been transferred, and what is still to be."""
    earned = ledger_entries_of_creator(creator=creator).aggregate(total=Sum("amount_cents"))["total"]
    payouts = Payout.objects.filter(creator=creator)
    paid = payouts.filter(status=Payout.Status.SENT).aggregate(total=Sum("amount_cents"))["total"]
    awaiting = (
        payouts.exclude(status=Payout.Status.SENT)
        .filter(order__status=Order.Status.FULFILLED)
        .aggregate(total=Sum("amount_cents"))["total"]
    )
    return EarningsTotals(earned_cents=earned or 0, paid_out_cents=paid or 0, awaiting_cents=awaiting or 0)


def earnings_by_month(*, creator: CreatorProfile, today: datetime.date | None = None) -> list[EarningsMonth]:
    """Net earnings per calendar month up to this one, empty months included; none before the first sale."""
    sums = {
        row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]: row["total"]
        for row in ledger_entries_of_creator(creator=creator)
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values("month")
        .annotate(total=Sum("amount_cents"))
    }
    if not sums:
        return []
    last = (today or timezone.localdate()).replace(day=1)
    first = min(min(sums), _months_before(last, EARNINGS_CHART_MIN_MONTHS - 1))
    first = max(first, _months_before(last, EARNINGS_CHART_MAX_MONTHS - 1))
    months = [first]
    while months[-1] < last:
        months.append(_months_before(months[-1], -1))
    best = max([sums.get(month, 0) for month in months] + [1])
    return [
        EarningsMonth(
            month=month,
            amount_cents=sums.get(month, 0),
            share=max(0, sums.get(month, 0)) * 100 // best,
        )
        for month in months
    ]


def _months_before(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 - count
    return datetime.date(index // 12, index % 12 + 1, 1)


def stripe_account_of_creator(*, creator: CreatorProfile) -> StripeAccount | None:
    return StripeAccount.objects.filter(creator=creator).first()


def creator_earnings_from_order(*, creator: CreatorProfile, order: Order) -> int:
    """The creator's net share of one order, in cents."""
    total = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SHARE, creator=creator, order=order).aggregate(
        total=Sum("amount_cents")
    )["total"]
    return total or 0


# --- Revocation notices ---

# The most notices one page of the revocation feed holds.
REVOCATION_FEED_PAGE_SIZE = 500


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def revocation_notice_document(notice: RevocationNotice) -> dict[str, Any]:
    """A notice as the feed lists it and a webhook posts it: which samples of which licensed version to delete."""
    revocation = notice.revocation
    version = revocation.version
    return {
        "id": str(notice.public_id),
        "license": str(notice.grant.public_id),
        "dataset": version.dataset.slug,
        "version": version.number,
        "bundle": version.name,
        "sample_keys": list(revocation.sample_keys),
        "reason": revocation.reason,
        "withdrawn_at": _iso(revocation.withdrawn_at),
        "created_at": _iso(notice.created_at),
        "replacement_version": revocation.replacement.number if revocation.replacement is not None else None,
    }


def revocation_notices_of_member(*, user: User) -> QuerySet[RevocationNotice]:
    """The notices of every license held by an organization the user belongs to, oldest first."""
    return (
        RevocationNotice.objects.filter(
            grant__organization__in=Membership.objects.filter(user=user).values("organization")
        )
        .select_related("revocation__version__dataset", "revocation__replacement", "grant")
        .order_by("created_at", "pk")
    )


def revocation_feed_page(*, user: User, since: datetime.datetime | None) -> list[RevocationNotice]:
    """The user's notices made after `since`, oldest first, one page of them.

    The next page is asked for with the last notice's created_at, so a page never ends inside a run of notices
    made at the same instant: that run is left to the next page, or (if it fills the page) given whole.
    """
    notices = revocation_notices_of_member(user=user)
    if since is not None:
        notices = notices.filter(created_at__gt=since)
    page = list(notices[: REVOCATION_FEED_PAGE_SIZE + 1])
    if len(page) <= REVOCATION_FEED_PAGE_SIZE:
        return page
    page, first_left_out = page[:REVOCATION_FEED_PAGE_SIZE], page[REVOCATION_FEED_PAGE_SIZE]
    last = page[-1].created_at
    if first_left_out.created_at != last:
        return page
    before_last = [notice for notice in page if notice.created_at != last]
    return before_last or list(notices.filter(created_at=last))


@dataclass(frozen=True)
class LicenseRevocations:
    """What the pages say about a license whose samples were revoked."""

    sample_count: int
    last_withdrawn_at: datetime.datetime
    # The license on the version without those samples, once it is given.
    upgrade: LicenseGrant | None


def revocations_of_grants(*, grant_ids: list[int]) -> dict[int, LicenseRevocations]:
    """For each of these licenses that has notices: how many samples to delete, since when, and the upgrade."""
    by_grant: dict[int, list[RevocationNotice]] = {}
    for notice in RevocationNotice.objects.filter(grant_id__in=grant_ids).select_related(
        "revocation", "upgrade__version"
    ):
        by_grant.setdefault(notice.grant_id, []).append(notice)
    summaries = {}
    for grant_id, notices in by_grant.items():
        keys = {key for notice in notices for key in notice.revocation.sample_keys}
        upgrades = [notice.upgrade for notice in notices if notice.upgrade is not None]
        summaries[grant_id] = LicenseRevocations(
            sample_count=len(keys),
            last_withdrawn_at=max(notice.revocation.withdrawn_at for notice in notices),
            upgrade=max(upgrades, key=lambda grant: grant.version.number, default=None),
        )
    return summaries


def revoked_sample_keys(*, grant: LicenseGrant) -> list[str]:
    """Every sample key of the license's version its holder was told to delete, sorted."""
    keys = RevocationNotice.objects.filter(grant=grant).values_list("revocation__sample_keys", flat=True)
    return sorted({key for sample_keys in keys for key in sample_keys})


def webhook_endpoints_of_member(*, user: User) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(
        organization__in=Membership.objects.filter(user=user).values("organization")
    ).select_related("organization")


def webhook_endpoint_of_member(*, user: User, public_id: Any) -> WebhookEndpoint | None:
    """One endpoint of the user's organizations, or None (someone else's looks the same as none)."""
    return webhook_endpoints_of_member(user=user).filter(public_id=public_id).first()


# How many deliveries an endpoint's log shows, newest first.
WEBHOOK_LOG_SIZE = 200


def webhook_deliveries_of_endpoint(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return endpoint.deliveries.select_related(
        "notice__revocation__version__dataset", "notice__grant"
    ).order_by("-created_at", "-pk")[:WEBHOOK_LOG_SIZE]
