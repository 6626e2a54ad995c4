"""An exclusive tier is held only by an order in payment, one hold per buyer at a time; the test checkout never
pays for an order once Stripe takes payments."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from datasets.models import DatasetVersion
from licensing.models import LicenseTerms
from marketplace.models import LicenseGrant, Order
from marketplace.services import orders
from tests.factories import BuyerFactory
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db
TIER = "commercial-generative"


@pytest.fixture
def exclusive() -> DatasetVersion:
    LicenseTerms.objects.filter(slug=TIER).update(exclusive=True)
    return put_on_sale(slug="one-of-a-kind", **{TIER: 5_000_000})


def test_orders_made_and_left_do_not_keep_an_exclusive_tier_from_others(exclusive):
    squatter, buyer = BuyerFactory(), BuyerFactory()
    for _ in range(5):
        orders.order_create(buyer=squatter, dataset=exclusive.dataset, terms_slug=TIER)

    order = orders.order_create(buyer=buyer, dataset=exclusive.dataset, terms_slug=TIER)
    grant = orders.order_pay_test(order=order, buyer=buyer)

    assert grant.exclusive_terms.slug == TIER


def test_an_order_in_payment_holds_the_tier_for_one_checkout_only(exclusive):
    holder, other = BuyerFactory(), BuyerFactory()
    held = orders.order_checkout_start(
        order=orders.order_create(buyer=holder, dataset=exclusive.dataset, terms_slug=TIER)
    )

    with pytest.raises(ValidationError, match="right now"):
        orders.order_create(buyer=other, dataset=exclusive.dataset, terms_slug=TIER)
    Order.objects.filter(pk=held.pk).update(
        checkout_started_at=timezone.now() - timedelta(minutes=orders.CHECKOUT_MINUTES + 1)
    )
    order = orders.order_create(buyer=other, dataset=exclusive.dataset, terms_slug=TIER)

    assert orders.order_pay_test(order=order, buyer=other).organization == order.organization


def test_a_buyer_holds_one_exclusive_tier_at_a_time(exclusive):
    second_dataset = put_on_sale(slug="another-one", **{TIER: 4_000_000}).dataset
    hoarder = BuyerFactory()
    orders.order_checkout_start(
        order=orders.order_create(buyer=hoarder, dataset=exclusive.dataset, terms_slug=TIER)
    )
    second = orders.order_create(buyer=hoarder, dataset=second_dataset, terms_slug=TIER)

    with pytest.raises(ValidationError, match="already paying for another exclusive license"):
        orders.order_checkout_start(order=second)
    assert Order.objects.get(pk=second.pk).checkout_started_at is None


def test_a_second_buyer_cannot_start_paying_for_a_held_tier(exclusive):
    first, second = BuyerFactory(), BuyerFactory()
    first_order = orders.order_create(buyer=first, dataset=exclusive.dataset, terms_slug=TIER)
    second_order = orders.order_create(buyer=second, dataset=exclusive.dataset, terms_slug=TIER)
    orders.order_checkout_start(order=first_order)

    with pytest.raises(ValidationError, match="right now"):
        orders.order_pay_test(order=second_order, buyer=second)
    assert not LicenseGrant.objects.filter(order=second_order).exists()


def test_a_test_checkout_order_made_before_stripe_was_set_up_is_not_paid_after(client, settings, exclusive):
    buyer = BuyerFactory()
    order = orders.order_create(buyer=buyer, dataset=exclusive.dataset, terms_slug=TIER)
    assert order.method == Order.Method.TEST
    settings.STRIPE_SECRET_KEY = "sk_test_configured_later"
    client.force_login(buyer)

    response = client.post(reverse("checkout", args=[order.public_id]), follow=True)

    assert "takes payments through Stripe" in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING
    assert not LicenseGrant.objects.exists()
