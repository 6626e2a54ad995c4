"""Concurrent deliveries on PostgreSQL: each event stored once, each order fulfilled once.

Every thread has its own database connection, as separate web processes would; the tests run outside a
test transaction so that those connections see each other's commits and wait on each other's locks.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from marketplace import payments
from marketplace.models import LicenseGrant, Order, StripeEvent
from tests.stripe_standin import event

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time"),
    pytest.mark.django_db(transaction=True),
]

EVENTS = 50
COPIES = 3
# Events posted together in one wave, each with all its copies: 15 connections at once.
EVENTS_PER_WAVE = 5


def _all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; their results, raising the first error."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            start.wait()
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result() for future in futures]


def test_fifty_completed_events_each_posted_three_times_at_once_fulfil_fifty_orders(
    stripe_api, stripe_order, checkout, post_event
):
    orders = [stripe_order() for _ in range(EVENTS)]
    completed = [event("checkout.session.completed", stripe_api.pay(checkout(order))) for order in orders]

    statuses = []
    for wave in range(0, EVENTS, EVENTS_PER_WAVE):
        batch = [each for each in completed[wave : wave + EVENTS_PER_WAVE] for _ in range(COPIES)]
        statuses += _all_at_once([lambda each=each: post_event(each).status_code for each in batch])

    assert statuses == [200] * EVENTS * COPIES
    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == EVENTS
    assert LicenseGrant.objects.count() == EVENTS
    assert set(LicenseGrant.objects.values_list("order_id", flat=True)) == {order.pk for order in orders}
    assert StripeEvent.objects.count() == EVENTS
    assert not StripeEvent.objects.filter(processed_at__isnull=True).exists()


def test_the_webhook_arriving_during_the_success_redirect_fulfils_once(
    stripe_api, stripe_order, checkout, post_event
):
    for _ in range(10):
        order = stripe_order()
        completed = event("checkout.session.completed", stripe_api.pay(checkout(order)))

        redirect, webhook = _all_at_once(
            [
                lambda order=order: payments.checkout_session_sync(order=order).status,
                lambda completed=completed: post_event(completed).status_code,
            ]
        )

        assert (redirect, webhook) == (Order.Status.FULFILLED, 200)
        assert LicenseGrant.objects.filter(order=order).count() == 1
    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == 10


def test_reconciliation_racing_the_webhook_fulfils_once(stripe_api, stripe_order, checkout, post_event):
    orders = [stripe_order() for _ in range(10)]
    completed = [event("checkout.session.completed", stripe_api.pay(checkout(order))) for order in orders]
    Order.objects.update(created_at=timezone.now() - timedelta(minutes=payments.RECONCILE_AFTER_MINUTES + 1))

    results = _all_at_once(
        [payments.orders_reconcile] + [lambda each=each: post_event(each).status_code for each in completed]
    )

    assert results[1:] == [200] * 10
    assert LicenseGrant.objects.count() == 10
    assert Order.objects.filter(status=Order.Status.FULFILLED).count() == 10
