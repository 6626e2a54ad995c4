"""Payout task runs racing each other on PostgreSQL: every payout is still transferred exactly once."""

import pytest
from django.db import connection

from marketplace.models import Payout, StripeAccount
from marketplace.services import payouts
from tests.factories import CreatorProfileFactory
from tests.marketplace.payouts_helpers import dataset_of, sell
from tests.marketplace.test_stripe_concurrency import _all_at_once

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time"),
    pytest.mark.django_db(transaction=True),
]

SALES = 6
RUNS = 4


def test_payout_runs_started_together_transfer_each_payout_once(stripe_api, media_root):
    creators = [CreatorProfileFactory() for _ in range(3)]
    dataset = dataset_of(dict.fromkeys(creators, 1), price_cents=30_000, slug="crowd")
    for creator in creators:
        payouts.stripe_account_onboarding_url(
            creator=creator, return_url="http://t/r", refresh_url="http://t/f"
        )
        stripe_api.complete_onboarding(StripeAccount.objects.get(creator=creator).account_id)
        payouts.stripe_account_refresh(creator=creator)
    for _ in range(SALES):
        sell(dataset)

    runs = _all_at_once([payouts.payouts_send for _ in range(RUNS)])

    assert sum(run.sent for run in runs) == SALES * len(creators)
    assert Payout.objects.filter(status="sent").count() == SALES * len(creators)
    assert len(stripe_api.transfers) == SALES * len(creators)
    assert set(stripe_api.transfer_requests.values()) == {1}
