"""An order made before a withdrawal and paid after it is never fulfilled: the money goes back, the buyer is told."""

import pytest
from django.urls import reverse

from core.outbox.models import QueuedTask
from licensing.models import LicenseTerms
from licensing.services import consents_withdraw, license_terms_version_publish
from marketplace import payments
from marketplace.models import LicenseGrant, Order
from marketplace.services import orders
from tests.factories import BuyerFactory
from tests.stripe_standin import event

pytestmark = pytest.mark.django_db


def _withdraw_one_sample(dataset) -> None:  # type: ignore[no-untyped-def]
    item = dataset.version_on_sale.items.first()
    consents_withdraw(asset_ids=[item.asset_id], actor=item.asset.creator.user)


def test_a_test_checkout_paid_after_a_withdrawal_is_cancelled_and_grants_nothing(
    dataset_on_sale, client, mailoutbox
):
    buyer = BuyerFactory()
    order = orders.order_create(buyer=buyer, dataset=dataset_on_sale, terms_slug="research")
    _withdraw_one_sample(dataset_on_sale)

    with pytest.raises(orders.SaleWithdrawn, match="went off sale before the payment arrived"):
        orders.order_pay_test(order=order, buyer=buyer)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert "Nothing was charged." in order.end_reason
    assert not LicenseGrant.objects.filter(order=order).exists()


def test_the_test_checkout_page_tells_the_buyer_why(dataset_on_sale, client):
    buyer = BuyerFactory()
    order = orders.order_create(buyer=buyer, dataset=dataset_on_sale, terms_slug="research")
    _withdraw_one_sample(dataset_on_sale)
    client.force_login(buyer)

    response = client.post(reverse("checkout", args=[order.public_id]), follow=True)

    assert "went off sale before the payment arrived" in response.content.decode()
    assert not LicenseGrant.objects.exists()


def test_a_stripe_payment_after_a_withdrawal_is_refunded_in_full(
    stripe_api,
    stripe_order,
    checkout,
    post_event,
    dataset_on_sale,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    order = stripe_order()
    session = stripe_api.pay(checkout(order))
    _withdraw_one_sample(dataset_on_sale)

    response = post_event(event("checkout.session.completed", session))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert "refunded in full" in order.end_reason
    assert not LicenseGrant.objects.filter(order=order).exists()
    # The refund is asked of Stripe by a task queued with the order's change, under one idempotency key.
    assert QueuedTask.objects.filter(
        task_name="marketplace.tasks.order_refund_send", args=[order.pk]
    ).exists()
    first = payments.order_refund_send(order_id=order.pk)
    again = payments.order_refund_send(order_id=order.pk)
    assert first == again
    (refund,) = stripe_api.refunds.values()
    assert refund["payment_intent"] == session["payment_intent"]

    # Stripe's own notice of the refund changes nothing more.
    post_event(
        event(
            "charge.refunded",
            {"object": "charge", "payment_intent": session["payment_intent"], "refunded": True},
        )
    )
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def test_a_payment_before_the_withdrawal_is_a_sale_and_its_buyer_is_told_like_every_holder(dataset_on_sale):
    buyer = BuyerFactory()
    order = orders.order_create(buyer=buyer, dataset=dataset_on_sale, terms_slug="research")
    grant = orders.order_pay_test(order=order, buyer=buyer)

    _withdraw_one_sample(dataset_on_sale)

    grant.refresh_from_db()
    assert grant.status == LicenseGrant.Status.ACTIVE
    assert grant.version.revocations.count() == 1


def test_a_newer_terms_text_does_not_stop_the_sale_of_a_version_sealed_under_the_earlier_one(dataset_on_sale):
    research = LicenseTerms.objects.get(slug="research")
    license_terms_version_publish(
        terms=research, text=research.versions.order_by("-version").first().text + "\n."
    )
    buyer = BuyerFactory()
    order = orders.order_create(buyer=buyer, dataset=dataset_on_sale, terms_slug="research")

    grant = orders.order_pay_test(order=order, buyer=buyer)

    assert grant.status == LicenseGrant.Status.ACTIVE
