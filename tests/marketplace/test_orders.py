"""Orders, license grants and certificates, through the services and the built-in test checkout."""

import base64
import threading

import orjson
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from datasets.models import Dataset, DatasetVersion, Offer
from datasets.packaging.checksums import load_public_key, public_key_pem
from datasets.signing_key import signing_key
from licensing.models import LicenseTerms
from marketplace.models import LicenseGrant, Order
from marketplace.services import orders
from tests.datasets.conftest import photo_bytes, publish_first_version, store_sellable
from tests.factories import BuyerFactory, CreatorFactory

pytestmark = pytest.mark.django_db


def put_on_sale(slug: str = "city-life", photos: int = 2, **offers: int) -> DatasetVersion:
    """A public dataset whose first version is built and published, priced per tier slug (in cents)."""
    for seed in range(photos):
        store_sellable(photo_bytes(seed + 100 * len(slug)))
    dataset = Dataset.objects.create(slug=slug, title="City life", description="Photos of city life.")
    for terms_slug, cents in (offers or {"research": 25_000, "commercial": 90_000}).items():
        Offer.objects.create(
            dataset=dataset, terms=LicenseTerms.objects.get(slug=terms_slug), price_cents=cents
        )
    return publish_first_version(dataset)


@pytest.fixture
def on_sale() -> DatasetVersion:
    return put_on_sale()


def test_an_order_is_priced_by_the_offer_for_the_version_on_sale(on_sale, buyer):
    order = orders.order_create(buyer=buyer, dataset=on_sale.dataset, terms_slug="commercial")

    assert (order.status, order.method, order.amount_cents, order.currency) == (
        "pending",
        "test",
        90_000,
        "usd",
    )
    assert order.version == on_sale
    assert (order.terms_version.terms.slug, order.terms_version.version) == ("commercial", 2)
    assert order.organization.memberships.get().user == buyer


@pytest.mark.parametrize(
    ("tier", "message"),
    [("commercial-generative", "not sold under the tier"), ("no-such-tier", "not sold under the tier")],
)
def test_a_tier_the_dataset_is_not_sold_under_is_refused(on_sale, buyer, tier, message):
    with pytest.raises(ValidationError, match=message):
        orders.order_create(buyer=buyer, dataset=on_sale.dataset, terms_slug=tier)

    assert not Order.objects.exists()


def test_only_buyer_accounts_buy(on_sale):
    with pytest.raises(PermissionDenied):
        orders.order_create(buyer=CreatorFactory(), dataset=on_sale.dataset, terms_slug="research")


def test_a_dataset_with_no_version_on_sale_cannot_be_ordered(on_sale, buyer):
    Dataset.objects.filter(pk=on_sale.dataset_id).update(is_public=False)
    on_sale.dataset.refresh_from_db()

    with pytest.raises(ValidationError, match="no version on sale"):
        orders.order_create(buyer=buyer, dataset=on_sale.dataset, terms_slug="research")


def test_the_test_checkout_grants_a_license_with_a_signed_certificate(on_sale, buyer):
    order = orders.order_create(buyer=buyer, dataset=on_sale.dataset, terms_slug="research")

    grant = orders.order_pay_test(order=order, buyer=buyer)

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED and order.paid_at and order.fulfilled_at
    assert (grant.version, grant.status, grant.organization) == (on_sale, "active", order.organization)
    load_public_key(public_key_pem(signing_key())).verify(
        base64.b64decode(grant.certificate_signature), grant.certificate.encode()
    )
    certificate = orjson.loads(grant.certificate)
    assert certificate["license_id"] == str(grant.public_id)
    assert certificate["dataset"]["bundle"] == "city-life-v1"
    assert certificate["dataset"]["sha256sums_sha256"] == on_sale.files.get(path="SHA256SUMS").sha256
    assert certificate["terms"]["slug"] == "research" and certificate["terms"]["version"] == 2
    assert certificate["permitted_uses"] == sorted(grant.terms_version.terms.uses)
    assert certificate["verify_url"].endswith(f"/certificates/{grant.public_id}/")


def test_paying_and_fulfilling_again_changes_nothing(on_sale, buyer):
    order = orders.order_create(buyer=buyer, dataset=on_sale.dataset, terms_slug="research")
    grant = orders.order_pay_test(order=order, buyer=buyer)

    again = orders.order_pay_test(order=order, buyer=buyer)

    assert again == grant == orders.order_fulfil(order=order)
    assert LicenseGrant.objects.count() == 1


def test_someone_elses_order_cannot_be_paid(on_sale, buyer):
    order = orders.order_create(buyer=buyer, dataset=on_sale.dataset, terms_slug="research")

    with pytest.raises(PermissionDenied):
        orders.order_pay_test(order=order, buyer=BuyerFactory())

    assert Order.objects.get().status == Order.Status.PENDING


@pytest.mark.parametrize(("amount", "currency"), [(1, "usd"), (25_000, "eur"), (2_500_000, "usd")])
def test_a_payment_of_another_amount_is_refused(on_sale, buyer, amount, currency):
    order = orders.order_create(buyer=buyer, dataset=on_sale.dataset, terms_slug="research")

    with pytest.raises(ValidationError, match="does not match"):
        orders.order_mark_paid(order=order, amount_cents=amount, currency=currency)

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    with pytest.raises(ValidationError, match="only a paid order"):
        orders.order_fulfil(order=order)


@pytest.mark.parametrize("end", [orders.order_refund, orders.order_dispute])
def test_a_refund_or_dispute_suspends_the_license(on_sale, buyer, end):
    order = orders.order_create(buyer=buyer, dataset=on_sale.dataset, terms_slug="research")
    grant = orders.order_pay_test(order=order, buyer=buyer)

    end(order=order, reason="The charge was reversed.")
    end(order=order, reason="The charge was reversed.")

    grant.refresh_from_db()
    assert (grant.status, grant.suspension_reason) == ("suspended", "The charge was reversed.")


@pytest.fixture
def exclusive_on_sale() -> DatasetVersion:
    LicenseTerms.objects.filter(slug="commercial-generative").update(exclusive=True)
    return put_on_sale(slug="one-of-a-kind", **{"commercial-generative": 5_000_000})


def test_an_exclusive_tier_is_sold_once(exclusive_on_sale):
    first, second = BuyerFactory(), BuyerFactory()
    dataset = exclusive_on_sale.dataset
    order = orders.order_create(buyer=first, dataset=dataset, terms_slug="commercial-generative")
    orders.order_checkout_start(order=order)

    with pytest.raises(ValidationError, match="right now"):
        orders.order_create(buyer=second, dataset=dataset, terms_slug="commercial-generative")
    orders.order_pay_test(order=order, buyer=first)
    with pytest.raises(ValidationError, match="licensed exclusively"):
        orders.order_create(buyer=second, dataset=dataset, terms_slug="commercial-generative")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_buyers_of_an_exclusive_tier_get_exactly_one_license(exclusive_on_sale):
    buyers = [BuyerFactory() for _ in range(8)]
    dataset = exclusive_on_sale.dataset
    outcomes: list[str] = []
    start = threading.Barrier(len(buyers))

    def buy(buyer) -> None:
        start.wait()
        try:
            order = orders.order_create(buyer=buyer, dataset=dataset, terms_slug="commercial-generative")
            orders.order_pay_test(order=order, buyer=buyer)
            outcomes.append("licensed")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=[buyer]) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["licensed"] + ["refused"] * 7
    assert LicenseGrant.objects.filter(version=exclusive_on_sale).count() == 1
