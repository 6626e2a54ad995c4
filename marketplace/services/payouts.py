"""Paying creators: Stripe Connect onboarding, and one Stripe transfer per payout, however often it is retried.

A payout is created pending with its order's ledger lines (marketplace.services.ledger). The periodic task
sends those whose creator has finished Stripe onboarding and whose order still stands. Each transfer
request carries the payout's idempotency key, so a request replayed after a crash or a timeout gets the
first transfer back from Stripe instead of making a second one.
"""

import logging
from dataclasses import dataclass

import stripe
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.transitions import transition
from creators.models import CreatorProfile
from marketplace.models import Order, Payout, StripeAccount
from marketplace.payments import _client, stripe_enabled

logger = logging.getLogger(__name__)

# Stripe answers these after a request it may or may not have carried out (a conflict with a concurrent
# request under the same key, rate limiting) or without having looked at it at all; any other 4xx is a
# refusal it records under the idempotency key, and no money moved.
AMBIGUOUS_HTTP_STATUSES = frozenset({409, 429})


@dataclass(frozen=True)
class PayoutRun:
    """What one run of the payout task did."""

    retried: int = 0
    sent: int = 0
    failed: int = 0


def payouts_send() -> PayoutRun:
    """Retry failed payouts, then send every payout that is due. Safe to run any number of times at once."""
    if not stripe_enabled():
        # Without Stripe the ledger still accrues: payouts wait, pending, until it is configured.
        return PayoutRun()
    retried = payouts_retry_failed()
    sent = failed = 0
    for payout_id in _due_payout_ids():
        payout = payout_send(payout_id=payout_id)
        if payout is None:
            continue
        sent += payout.status == Payout.Status.SENT
        failed += payout.status == Payout.Status.FAILED
    return PayoutRun(retried=retried, sent=sent, failed=failed)


def _due_payout_ids() -> list[int]:
    return list(
        Payout.objects.filter(
            status=Payout.Status.PENDING,
            # A refunded or disputed order's shares were reversed on the ledger: there is nothing to pay.
            order__status=Order.Status.FULFILLED,
            creator__stripe_account__details_submitted=True,
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def payouts_retry_failed() -> int:
    """Failed payouts with attempts left go back to pending; how many did."""
    retried = 0
    for payout in Payout.objects.select_for_update().filter(
        status=Payout.Status.FAILED, attempts__lt=Payout.MAX_ATTEMPTS
    ):
        transition(payout, subject="This payout", target=Payout.Status.PENDING)
        payout.save(update_fields=["status"])
        retried += 1
    return retried


@transaction.atomic
def payout_send(*, payout_id: int) -> Payout | None:
    """Transfer one pending payout to its creator's Stripe account; None if it is not (or no longer) due.

    The row stays locked while Stripe is asked, so two workers never send the same payout at once; if the
    process dies after Stripe made the transfer but before this commits, the payout is still pending and the
    next run's request, under the same key, is answered with that same transfer.
    """
    # Only the payout row is locked: locking the joined order and creator too would make a concurrent run skip
    # every other payout of the same sale, and hold up that order's refund while Stripe is asked.
    payout = (
        Payout.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("order", "creator__stripe_account")
        .filter(
            pk=payout_id,
            status=Payout.Status.PENDING,
            order__status=Order.Status.FULFILLED,
            creator__stripe_account__details_submitted=True,
        )
        .first()
    )
    if payout is None:
        return None
    payout.attempts += 1
    try:
        transfer = _client().v1.transfers.create(
            params={
                "amount": payout.amount_cents,
                "currency": payout.currency,
                "destination": payout.creator.stripe_account.account_id,
                # Ties every creator's transfer to the sale that paid for it, in Stripe's dashboard too.
                "transfer_group": str(payout.order.public_id),
                "metadata": {"order_id": str(payout.order.public_id), "creator_id": str(payout.creator_id)},
            },
            options={"idempotency_key": payout.idempotency_key},
        )
    except stripe.StripeError as error:
        _payout_failed(payout, error)
    else:
        transition(payout, subject="This payout", target=Payout.Status.SENT)
        payout.stripe_transfer_id = str(transfer.id)
        payout.sent_at = timezone.now()
        payout.last_error = ""
    payout.save()
    return payout


def _payout_failed(payout: Payout, error: stripe.StripeError) -> None:
    transition(payout, subject="This payout", target=Payout.Status.FAILED)
    payout.failed_at = timezone.now()
    payout.last_error = (error.user_message or str(error) or type(error).__name__)[:500]
    logger.warning("Payout %s failed (attempt %s): %s", payout.idempotency_key, payout.attempts, error)
    status = error.http_status
    if status is not None and 400 <= status < 500 and status not in AMBIGUOUS_HTTP_STATUSES:
        # Stripe refused, made no transfer, and keeps answering this key with the same refusal: the retry
        # needs a key of its own. After anything else (a timeout, a 5xx) the key stays, so a transfer Stripe
        # did make is found again rather than made twice.
        base = payout.idempotency_key.split("~", 1)[0]
        payout.idempotency_key = f"{base}~{payout.attempts}"


# --- Stripe Connect ---------------------------------------------------------------------------------------


def stripe_account_onboarding_url(*, creator: CreatorProfile, return_url: str, refresh_url: str) -> str:
    """A Stripe-hosted onboarding page for the creator's Express account, creating the account once."""
    if not stripe_enabled():
        raise ValidationError("Payments are not configured on this site.", code="payment_unavailable")
    account = StripeAccount.objects.filter(creator=creator).first()
    try:
        if account is None:
            created = _client().v1.accounts.create(
                params={
                    "type": "express",
                    "email": creator.user.email,
                    "capabilities": {"transfers": {"requested": True}},
                    "metadata": {"creator_id": str(creator.pk)},
                },
                # A double click, or a retry after a timeout, gets the same account back.
                options={"idempotency_key": f"connect-account-{creator.pk}"},
            )
            account = stripe_account_attach(creator=creator, account_id=str(created.id))
        link = _client().v1.account_links.create(
            params={
                "account": account.account_id,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": refresh_url,
            }
        )
    except stripe.StripeError as error:
        logger.exception("Stripe refused or could not be reached onboarding creator %s", creator.pk)
        raise ValidationError(
            "The payment service is unavailable; please try again in a minute.", code="payment_unavailable"
        ) from error
    return str(link.url)


@transaction.atomic
def stripe_account_attach(*, creator: CreatorProfile, account_id: str) -> StripeAccount:
    """Record the creator's Stripe account; the one already recorded, if any. Idempotent."""
    account, _created = StripeAccount.objects.get_or_create(
        creator=creator, defaults={"account_id": account_id}
    )
    return account


def stripe_account_refresh(*, creator: CreatorProfile) -> StripeAccount | None:
    """Ask Stripe whether the creator has finished onboarding (when they come back from it)."""
    account = StripeAccount.objects.filter(creator=creator).first()
    if account is None or not stripe_enabled():
        return account
    try:
        remote = _client().v1.accounts.retrieve(account.account_id)
    except stripe.StripeError:
        # Shown as not connected yet; the next visit asks again.
        logger.warning("Could not retrieve Stripe account %s", account.account_id, exc_info=True)
        return account
    StripeAccount.objects.filter(pk=account.pk).update(
        details_submitted=bool(remote.to_dict().get("details_submitted")), updated_at=timezone.now()
    )
    account.refresh_from_db()
    return account
