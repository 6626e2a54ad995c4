"""The revenue ledger written at fulfilment, its reversal, and Stripe Connect payouts sent once each."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import Sum

from marketplace.models import LedgerEntry, Order, Payout, StripeAccount
from marketplace.services import orders, payouts
from marketplace.services.ledger import ledger_record_sale, platform_fee_basis_points
from tests.factories import CreatorProfileFactory
from tests.marketplace.payouts_helpers import dataset_of, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_creators(media_root):
    """Ana has three of the version's four photos, Ben one; the research tier costs 10,001 cents."""
    ana, ben = CreatorProfileFactory(), CreatorProfileFactory()
    return ana, ben, dataset_of({ana: 3, ben: 1}, price_cents=10_001, slug="shared")


def _shares(order: Order) -> dict[int | None, int]:
    return dict(
        LedgerEntry.objects.filter(order=order)
        .values_list("creator_id")
        .annotate(total=Sum("amount_cents"))
        .values_list("creator_id", "total")
    )


def _connect(creator, stripe_api) -> StripeAccount:
    payouts.stripe_account_onboarding_url(creator=creator, return_url="http://t/r", refresh_url="http://t/f")
    account = StripeAccount.objects.get(creator=creator)
    stripe_api.complete_onboarding(account.account_id)
    account = payouts.stripe_account_refresh(creator=creator)
    assert account is not None and account.details_submitted
    return account


# --- ledger -----------------------------------------------------------------------------------------------


def test_a_fulfilled_sale_is_split_between_the_fee_and_each_creator_by_asset_count(two_creators):
    ana, ben, dataset = two_creators

    order = sell(dataset)

    # Exact parts 2000.2 (20% fee), 6000.6 and 2000.2: the cent left over goes to the largest remainder.
    assert _shares(order) == {None: 2_000, ana.pk: 6_001, ben.pk: 2_000}
    counts = dict(
        LedgerEntry.objects.filter(order=order, kind="share").values_list("creator_id", "item_count")
    )
    assert counts == {ana.pk: 3, ben.pk: 1}
    assert sorted(
        Payout.objects.filter(order=order).values_list("creator_id", "amount_cents", "status")
    ) == sorted([(ana.pk, 6_001, "pending"), (ben.pk, 2_000, "pending")])
    assert (
        Payout.objects.get(order=order, creator=ana).idempotency_key == f"payout-{order.public_id}-{ana.pk}"
    )


def test_fulfilling_an_order_again_adds_nothing_to_the_ledger(two_creators):
    order = sell(two_creators[2])
    before = (LedgerEntry.objects.count(), Payout.objects.count())

    orders.order_fulfil(order=order)
    ledger_record_sale(order=order)

    assert (LedgerEntry.objects.count(), Payout.objects.count()) == before


def test_the_database_refuses_a_second_fee_line_for_an_order(two_creators):
    order = sell(two_creators[2])

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(order=order, kind="fee", amount_cents=1, currency="usd")


def test_a_free_order_records_nothing(two_creators):
    paid = sell(two_creators[2])
    free = Order.objects.create(
        buyer=paid.buyer,
        organization=paid.organization,
        version=paid.version,
        terms_version=paid.terms_version,
        method=Order.Method.TEST,
        amount_cents=0,
        status=Order.Status.PAID,
    )

    orders.order_fulfil(order=free)

    assert not LedgerEntry.objects.filter(order=free).exists()
    assert not Payout.objects.filter(order=free).exists()


@pytest.mark.parametrize("end", ["refund", "dispute_then_refund"])
def test_a_refund_or_dispute_reverses_the_sale_once(two_creators, end):
    ana, ben, dataset = two_creators
    order = sell(dataset)

    if end == "refund":
        orders.order_refund(order=order, reason="Refunded.")
        orders.order_refund(order=order, reason="Refunded again.")
    else:
        orders.order_dispute(order=order, reason="Disputed.")
        orders.order_refund(order=order, reason="The dispute was lost.")

    assert _shares(order) == {None: 0, ana.pk: 0, ben.pk: 0}
    assert LedgerEntry.objects.filter(order=order, entry="reversal").count() == 3


@pytest.mark.parametrize(
    "percent, basis_points", [("20", 2_000), (20, 2_000), ("12.5", 1_250), ("0", 0), ("100", 10_000)]
)
def test_the_platform_fee_is_read_as_basis_points(settings, percent, basis_points):
    settings.PLATFORM_FEE_PERCENT = percent

    assert platform_fee_basis_points() == basis_points


@pytest.mark.parametrize("percent", ["12.345", "101", "-1", "twenty"])
def test_a_platform_fee_that_is_not_a_percentage_is_refused(settings, percent):
    settings.PLATFORM_FEE_PERCENT = percent

    with pytest.raises(ImproperlyConfigured):
        platform_fee_basis_points()


# --- payouts ----------------------------------------------------------------------------------------------


def test_without_stripe_payouts_stay_pending(settings, two_creators):
    settings.STRIPE_SECRET_KEY = ""
    order = sell(two_creators[2])

    run = payouts.payouts_send()

    assert run == payouts.PayoutRun()
    assert set(Payout.objects.filter(order=order).values_list("status", flat=True)) == {"pending"}


def test_a_creator_is_paid_once_by_a_transfer_grouped_under_the_order(stripe_api, two_creators):
    ana, ben, dataset = two_creators
    account = _connect(ana, stripe_api)
    order = sell(dataset)

    first = payouts.payouts_send()
    second = payouts.payouts_send()

    assert (first.sent, second.sent) == (1, 0)
    [transfer] = stripe_api.transfers_to(account.account_id)
    assert (transfer["amount"], transfer["currency"], transfer["transfer_group"]) == (
        6_001,
        "usd",
        str(order.public_id),
    )
    payout = Payout.objects.get(order=order, creator=ana)
    assert (payout.status, payout.stripe_transfer_id, payout.attempts) == ("sent", transfer["id"], 1)
    assert stripe_api.transfer_requests == {payout.idempotency_key: 1}
    # Ben has not connected Stripe: his payout waits.
    assert Payout.objects.get(order=order, creator=ben).status == "pending"


def test_a_transfer_whose_outcome_was_lost_is_found_again_not_made_twice(stripe_api, two_creators):
    ana, _ben, dataset = two_creators
    account = _connect(ana, stripe_api)
    order = sell(dataset)

    # Stripe made the transfer, but the worker died before recording it.
    with pytest.raises(RuntimeError), transaction.atomic():
        payouts.payouts_send()
        raise RuntimeError("the worker died before committing")
    assert Payout.objects.get(order=order, creator=ana).status == "pending"
    payouts.payouts_send()

    [transfer] = stripe_api.transfers_to(account.account_id)
    payout = Payout.objects.get(order=order, creator=ana)
    assert (payout.status, payout.stripe_transfer_id) == ("sent", transfer["id"])
    assert stripe_api.transfer_requests == {payout.idempotency_key: 2}


def test_a_refused_transfer_fails_then_is_retried_and_sent_once(stripe_api, two_creators):
    ana, _ben, dataset = two_creators
    account = _connect(ana, stripe_api)
    order = sell(dataset)
    stripe_api.refuse_next_transfer("Your balance is insufficient for this transfer.")

    first = payouts.payouts_send()
    failed = Payout.objects.get(order=order, creator=ana)
    second = payouts.payouts_send()
    third = payouts.payouts_send()

    assert (first.failed, first.sent) == (1, 0)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "insufficient" in failed.last_error
    assert (second.retried, second.sent) == (1, 1)
    assert (third.retried, third.sent) == (0, 0)
    [transfer] = stripe_api.transfers_to(account.account_id)
    payout = Payout.objects.get(order=order, creator=ana)
    assert (payout.status, payout.attempts, payout.stripe_transfer_id, payout.last_error) == (
        "sent",
        2,
        transfer["id"],
        "",
    )
    # Stripe keeps answering the first key with its refusal, so the retry went under a key of its own.
    assert len(stripe_api.transfer_requests) == 2 and set(stripe_api.transfer_requests.values()) == {1}


def test_a_payout_that_keeps_failing_stops_being_retried(stripe_api, two_creators):
    ana, _ben, dataset = two_creators
    _connect(ana, stripe_api)
    order = sell(dataset)
    for _ in range(Payout.MAX_ATTEMPTS + 2):
        stripe_api.refuse_next_transfer()
        payouts.payouts_send()

    payout = Payout.objects.get(order=order, creator=ana)
    assert (payout.status, payout.attempts) == ("failed", Payout.MAX_ATTEMPTS)


def test_a_refunded_order_pays_nobody(stripe_api, two_creators):
    ana, _ben, dataset = two_creators
    account = _connect(ana, stripe_api)
    order = sell(dataset)
    orders.order_refund(order=order, reason="Refunded.")

    payouts.payouts_send()

    assert stripe_api.transfers_to(account.account_id) == []
    assert Payout.objects.get(order=order, creator=ana).status == "pending"


def test_connecting_twice_keeps_one_stripe_account(stripe_api, two_creators):
    ana = two_creators[0]

    first = payouts.stripe_account_onboarding_url(
        creator=ana, return_url="http://t/r", refresh_url="http://t/f"
    )
    second = payouts.stripe_account_onboarding_url(
        creator=ana, return_url="http://t/r", refresh_url="http://t/f"
    )

    assert first == second and first.startswith(stripe_api.url)
    assert StripeAccount.objects.filter(creator=ana).count() == 1 == len(stripe_api.accounts)
