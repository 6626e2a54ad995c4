"""Buying through the pages with Stripe configured: off to Stripe's page, back through the success redirect."""

import pytest

from marketplace.models import LicenseGrant, Order
from tests.factories import BuyerFactory
from tests.marketplace.test_stripe_checkout import _closed_port_url

pytestmark = pytest.mark.django_db


def test_the_buy_button_sends_the_buyer_to_stripe_and_the_redirect_back_fulfils(
    client, stripe_api, dataset_on_sale
):
    client.force_login(BuyerFactory())

    started = client.post("/checkout/", {"dataset": dataset_on_sale.slug, "tier": "research"})

    order = Order.objects.get()
    assert started.status_code == 302 and started["Location"].startswith(f"{stripe_api.url}/pay/")
    assert stripe_api.session(order.stripe_session_id)["amount_total"] == order.amount_cents == 25_000
    waiting = client.get(f"/checkout/{order.public_id}/done/")
    assert b"waiting for the payment provider" in waiting.content
    stripe_api.pay(order.stripe_session_id)
    back = client.get(f"/checkout/{order.public_id}/done/")
    assert back["Location"] == f"/account/licenses/{LicenseGrant.objects.get().public_id}/"


def test_an_unreachable_stripe_is_a_message_not_an_error_page(client, settings, stripe_api, dataset_on_sale):
    settings.STRIPE_API_BASE = _closed_port_url()
    client.force_login(BuyerFactory())

    response = client.post("/checkout/", {"dataset": dataset_on_sale.slug, "tier": "research"}, follow=True)

    assert response.status_code == 200
    assert b"payment service is unavailable" in response.content
    assert Order.objects.get().status == Order.Status.PENDING
