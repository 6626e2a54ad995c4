"""Checkout Sessions: created once per order at the server's price; the success redirect fulfils a paid one."""

import socket
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from marketplace import payments
from marketplace.models import LicenseGrant, Order
from tests.marketplace.conftest import CANCEL_URL, SUCCESS_URL

pytestmark = pytest.mark.django_db


def test_a_session_is_created_once_per_order_at_the_orders_amount(stripe_api, stripe_order):
    order = stripe_order()

    first = payments.checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    second = payments.checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    order.refresh_from_db()
    assert first == second == stripe_api.session(order.stripe_session_id)["url"]
    assert list(stripe_api.sessions) == [order.stripe_session_id]
    session = stripe_api.session(order.stripe_session_id)
    assert (session["amount_total"], session["currency"]) == (order.amount_cents, "usd") == (25_000, "usd")
    assert session["client_reference_id"] == str(order.public_id)
    assert session["line_items_requested"][0]["price_data"]["product_data"]["name"] == (
        "City life v1: Research license"
    )


def test_a_retried_create_whose_first_answer_was_lost_gets_the_same_session(stripe_api, stripe_order):
    order = stripe_order()
    payments.checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
    order.refresh_from_db()
    session_id = order.stripe_session_id
    # As if the process died between Stripe's answer and recording the session on the order.
    Order.objects.filter(pk=order.pk).update(stripe_session_id=None)
    order.refresh_from_db()

    payments.checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    order.refresh_from_db()
    assert stripe_api.create_requests == 2
    assert list(stripe_api.sessions) == [session_id] == [order.stripe_session_id]


def test_the_session_charges_the_order_amount_even_after_the_offer_price_changes(
    stripe_api, stripe_order, checkout
):
    order = stripe_order()
    order.version.dataset.offers.update(price_cents=1)

    session_id = checkout(order)

    assert stripe_api.session(session_id)["amount_total"] == 25_000


def test_the_success_redirect_fulfils_a_paid_session(stripe_api, stripe_order, checkout):
    order = stripe_order()
    session_id = checkout(order)
    paid = stripe_api.pay(session_id)

    order = payments.checkout_session_sync(order=order)

    assert order.status == Order.Status.FULFILLED
    assert order.stripe_payment_intent == paid["payment_intent"]
    assert LicenseGrant.objects.filter(order=order).count() == 1
    assert payments.checkout_session_sync(order=order).status == Order.Status.FULFILLED
    assert LicenseGrant.objects.filter(order=order).count() == 1


def test_the_success_redirect_leaves_an_unpaid_session_pending(stripe_api, stripe_order, checkout):
    order = stripe_order()
    stripe_api.complete_pending(checkout(order))

    assert payments.checkout_session_sync(order=order).status == Order.Status.PENDING


@pytest.mark.parametrize("tampered", [{"amount_total": 100}, {"currency": "eur"}])
def test_a_session_paid_at_another_amount_or_currency_is_never_fulfilled(
    stripe_api, stripe_order, checkout, tampered
):
    order = stripe_order()
    stripe_api.pay(checkout(order), **tampered)

    order = payments.checkout_session_sync(order=order)

    assert order.status == Order.Status.PENDING
    assert not LicenseGrant.objects.filter(order=order).exists()


def test_an_order_that_is_no_longer_pending_gets_no_checkout(stripe_api, stripe_order, checkout):
    order = stripe_order()
    stripe_api.pay(checkout(order))
    order = payments.checkout_session_sync(order=order)

    with pytest.raises(ValidationError) as refused:
        payments.checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    assert refused.value.code == "conflict"


def test_an_ended_session_is_not_reopened(stripe_api, stripe_order, checkout):
    order = stripe_order()
    stripe_api.expire(checkout(order))

    with pytest.raises(ValidationError) as refused:
        payments.checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    assert refused.value.code == "conflict"
    assert len(stripe_api.sessions) == 1


def test_an_unreachable_stripe_is_a_clear_refusal_and_records_nothing(settings, stripe_api, stripe_order):
    order = stripe_order()
    settings.STRIPE_API_BASE = _closed_port_url()

    with pytest.raises(ValidationError) as refused:
        payments.checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    assert refused.value.code == "payment_unavailable"
    order.refresh_from_db()
    assert order.stripe_session_id is None


def test_stripe_is_enabled_by_its_secret_key(settings):
    settings.STRIPE_SECRET_KEY = ""
    assert not payments.stripe_enabled()
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert payments.stripe_enabled()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_the_session_expires_a_fixed_time_after_the_order_and_not_before_stripes_minimum(
    stripe_api, stripe_order, checkout
):
    order = stripe_order()

    expires_at = stripe_api.session(checkout(order))["expires_at"]

    assert expires_at == int((order.created_at + payments.SESSION_EXPIRES_AFTER_ORDER).timestamp())
    assert expires_at - time.time() >= payments.SESSION_MINIMUM_MINUTES * 60


def test_an_order_left_too_long_before_checkout_gets_no_session(stripe_api, stripe_order):
    order = stripe_order()
    Order.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - timedelta(minutes=payments.SESSION_CREATE_MINUTES + 1)
    )
    order.refresh_from_db()

    with pytest.raises(ValidationError) as refused:
        payments.checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)

    assert refused.value.code == "conflict"
    assert not stripe_api.sessions
