"""Reconciliation: paid sessions whose webhook never came are fulfilled, expired ones cancelled."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace import tasks
from marketplace.models import LicenseGrant, Order
from marketplace.payments import RECONCILE_AFTER_MINUTES, orders_reconcile
from tests.stripe_standin import charge, event

pytestmark = pytest.mark.django_db


def _age(*orders: Order, minutes: int = RECONCILE_AFTER_MINUTES + 1) -> None:
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_twenty_paid_sessions_whose_webhooks_never_came_are_all_fulfilled(stripe_api, stripe_order, checkout):
    orders = [stripe_order() for _ in range(20)]
    for order in orders:
        stripe_api.pay(checkout(order))
    _age(*orders)

    assert orders_reconcile() == 20

    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.FULFILLED}
    assert LicenseGrant.objects.count() == 20
    assert orders_reconcile() == 0
    assert LicenseGrant.objects.count() == 20


def test_the_periodic_task_reconciles(stripe_api, stripe_order, checkout):
    order = stripe_order()
    stripe_api.pay(checkout(order))
    _age(order)

    assert tasks.stripe_checkouts_reconcile.apply().get() == 1


def test_an_expired_session_cancels_its_order(stripe_api, stripe_order, checkout):
    order = stripe_order()
    stripe_api.expire(checkout(order))
    _age(order)

    assert orders_reconcile() == 0

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_a_checkout_still_open_or_too_recent_is_left_alone(stripe_api, stripe_order, checkout):
    still_open, just_paid = stripe_order(), stripe_order()
    checkout(still_open)
    stripe_api.pay(checkout(just_paid))
    _age(still_open)

    assert orders_reconcile() == 0

    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PENDING}


def test_a_session_paid_at_another_amount_is_not_fulfilled(stripe_api, stripe_order, checkout):
    order = stripe_order()
    stripe_api.pay(checkout(order), amount_total=1)
    _age(order)

    assert orders_reconcile() == 0

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_a_refund_that_raced_the_payment_is_applied(stripe_api, stripe_order, checkout, post_event):
    order = stripe_order()
    session = stripe_api.pay(checkout(order))
    post_event(event("charge.refunded", charge(session["payment_intent"], session["amount_total"])))
    # The payment recorded without looking for the refund, as when both were committed at the same moment.
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.PAID, stripe_payment_intent=session["payment_intent"]
    )

    orders_reconcile()

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def test_without_stripe_there_is_nothing_to_reconcile(settings):
    settings.STRIPE_SECRET_KEY = ""

    assert orders_reconcile() == 0
