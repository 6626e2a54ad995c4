"""A creator's earnings page and CSV statement: their sales only, with shares, payouts and a chart."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace import selectors
from marketplace.models import LedgerEntry, Payout
from marketplace.services import orders
from marketplace.views.earnings import STATEMENT_COLUMNS
from tests.factories import BuyerFactory, CreatorProfileFactory
from tests.marketplace.payouts_helpers import dataset_of, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def sold(media_root):
    """Ana's two photos and Ben's one, sold twice at 30,000 cents; the second sale then refunded."""
    ana, ben = CreatorProfileFactory(), CreatorProfileFactory()
    dataset = dataset_of({ana: 2, ben: 1}, price_cents=30_000, slug="harbour")
    first = sell(dataset)
    second = sell(dataset)
    orders.order_refund(order=second, reason="Refunded.")
    return ana, ben, first, second


def _client_of(client, creator):
    client.force_login(creator.user)
    return client


def test_the_earnings_page_shows_every_sale_that_used_the_creators_work(client, sold):
    ana, _ben, _first, _second = sold

    page = _client_of(client, ana).get(reverse("earnings")).content.decode()

    assert "Dataset harbour" in page
    # 80% of 30,000 cents shared 2:1: Ana's share of each sale is $160.00; the refund takes one back.
    assert page.count("$160.00") >= 3
    assert "\N{MINUS SIGN}$160.00" in page
    assert "pending: payments not configured" in page
    assert 'class="columns"' in page and 'data-share="100"' in page


def test_the_totals_are_net_of_refunds(sold):
    ana, ben, _first, _second = sold

    assert selectors.earnings_totals(creator=ana) == selectors.EarningsTotals(
        earned_cents=16_000, paid_out_cents=0, awaiting_cents=16_000
    )
    assert selectors.earnings_totals(creator=ben).earned_cents == 8_000


def test_the_csv_statement_has_the_pages_rows(client, sold):
    ana, _ben, first, second = sold

    response = _client_of(client, ana).get(reverse("earnings-csv"))

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [
        (row["order"], row["entry"], row["amount"], row["amount_cents"], row["your_assets"]) for row in rows
    ] == [
        (str(second.public_id), "refund", "-160.00", "-16000", "2"),
        (str(second.public_id), "sale", "160.00", "16000", "2"),
        (str(first.public_id), "sale", "160.00", "16000", "2"),
    ]
    assert {row["dataset"] for row in rows} == {"Dataset harbour"}
    assert rows[2]["payout_status"] == "pending: payments not configured"
    assert rows[1]["payout_status"] == "cancelled: order refunded"
    assert len(rows) == len(selectors.earnings_rows(creator=ana))


def test_another_creator_sees_none_of_the_rows(client, sold):
    stranger = CreatorProfileFactory()
    client.force_login(stranger.user)

    page = client.get(reverse("earnings")).content.decode()
    statement = client.get(reverse("earnings-csv")).content.decode()

    assert "Dataset harbour" not in page and "No sale has used your work yet." in page
    assert statement.strip().splitlines() == [",".join(STATEMENT_COLUMNS)]


@pytest.mark.parametrize("name", ["earnings", "earnings-csv"])
def test_anonymous_visitors_are_sent_to_log_in(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_buyer_has_no_earnings_page(client, db):
    client.force_login(BuyerFactory())

    assert client.get(reverse("earnings")).status_code == 403


def test_the_page_asks_a_creator_to_connect_stripe_when_it_is_configured(client, stripe_api, sold):
    ana = sold[0]
    client.force_login(ana.user)

    page = client.get(reverse("earnings")).content.decode()
    assert "Connect Stripe" in page
    assert "pending: connect Stripe" in page

    response = client.post(reverse("earnings-stripe-connect"))
    assert response.status_code == 302 and response["Location"].startswith(stripe_api.url)
    [account_id] = stripe_api.accounts
    stripe_api.complete_onboarding(account_id)

    back = client.get(reverse("earnings-stripe-return"), follow=True).content.decode()
    assert "Your Stripe account is connected" in back
    assert account_id in back


def test_a_sent_payout_shows_as_paid_out(client, stripe_api, sold):
    ana, _ben, first, _second = sold
    Payout.objects.filter(order=first, creator=ana).update(status="sent", stripe_transfer_id="tr_1")

    page = _client_of(client, ana).get(reverse("earnings")).content.decode()

    assert selectors.earnings_totals(creator=ana).paid_out_cents == 16_000
    assert ">sent<" in page


def test_connect_without_stripe_configured_says_so(client, sold):
    client.force_login(sold[0].user)

    response = client.post(reverse("earnings-stripe-connect"), follow=True)

    assert response.status_code == 200
    assert "Payments are not configured" in response.content.decode()


def test_the_chart_has_a_bar_per_month_for_the_last_six_months_at_least(sold):
    months = selectors.earnings_by_month(creator=sold[0])

    assert len(months) == 6
    assert [month.month.month for month in months][-1] == timezone.localdate().month
    assert [(month.amount_cents, month.share) for month in months] == [(0, 0)] * 5 + [(16_000, 100)]


def test_the_chart_reaches_back_to_the_first_sale_and_no_further_than_two_years(sold):
    ana, _ben, first, _second = sold
    LedgerEntry.objects.filter(order=first).update(created_at=timezone.now() - timedelta(days=300))
    assert len(selectors.earnings_by_month(creator=ana)) in (10, 11)

    LedgerEntry.objects.filter(order=first).update(created_at=timezone.now() - timedelta(days=3_000))
    months = selectors.earnings_by_month(creator=ana)
    assert len(months) == selectors.EARNINGS_CHART_MAX_MONTHS
    # A month whose refunds outweigh its sales draws no bar below zero.
    assert all(0 <= month.share <= 100 for month in months)


def test_no_chart_before_the_first_sale(db):
    assert selectors.earnings_by_month(creator=CreatorProfileFactory()) == []
