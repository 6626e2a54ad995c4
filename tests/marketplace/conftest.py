"""Stripe as the site sees it: a local stand-in of its API, signed webhooks, and orders ready to pay."""

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from django.test import Client
from django.urls import reverse

from datasets.models import Dataset
from marketplace import payments
from marketplace.models import Order
from marketplace.services.orders import order_create
from tests.datasets.conftest import (  # noqa: F401 - fixtures used below
    offered_dataset,
    publish_first_version,
    sellable_photo,
)
from tests.factories import BuyerFactory
from tests.marketplace.revocation_helpers import tasks_in_process, webhook_receiver  # noqa: F401 - fixtures
from tests.stripe_standin import StripeStandIn, sign

STRIPE_TEST_KEY = "sk_test_standin"
WEBHOOK_SECRET = "whsec_standin_current"
SUCCESS_URL = "http://testserver/checkout/done/"
CANCEL_URL = "http://testserver/checkout/cancelled/"


@pytest.fixture
def stripe_api(settings) -> Iterator[StripeStandIn]:
    """Stripe configured for this test, its API served by a local stand-in."""
    with StripeStandIn(api_key=STRIPE_TEST_KEY).running() as standin:
        settings.STRIPE_SECRET_KEY = STRIPE_TEST_KEY
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = standin.url
        yield standin


@pytest.fixture
def dataset_on_sale(media_root, offered_dataset, sellable_photo) -> Dataset:  # noqa: F811 - fixtures
    """A public dataset with a published version, offered under the research and commercial tiers."""
    sellable_photo()
    dataset = offered_dataset()
    publish_first_version(dataset)
    return dataset


@pytest.fixture
def stripe_order(stripe_api, dataset_on_sale) -> Callable[..., Order]:
    """A new buyer's pending Stripe order for the research tier (25,000 cents)."""

    def make(terms_slug: str = "research") -> Order:
        return order_create(buyer=BuyerFactory(), dataset=dataset_on_sale, terms_slug=terms_slug)

    return make


@pytest.fixture
def checkout(stripe_api) -> Callable[[Order], str]:
    """Open the order's Checkout Session; its id."""

    def start(order: Order) -> str:
        payments.checkout_session_create(order=order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
        order.refresh_from_db()
        assert order.stripe_session_id
        return order.stripe_session_id

    return start


@pytest.fixture
def post_event(stripe_api) -> Callable[..., Any]:
    """POST an event to the webhook, signed as Stripe signs it; a client of its own, so threads may call it."""

    def post(event: dict[str, Any]) -> Any:
        body = orjson.dumps(event)
        return Client().post(
            reverse("stripe-webhook"),
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(body, WEBHOOK_SECRET),
        )

    return post
