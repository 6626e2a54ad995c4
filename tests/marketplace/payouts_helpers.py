"""Sales of a version whose samples belong to several creators, for the ledger, payout and earnings tests."""

from creators.models import CreatorProfile
from datasets.models import Dataset, Offer
from licensing.models import LicenseTerms
from marketplace.models import Order, User
from marketplace.services import orders
from tests.datasets.conftest import photo_bytes, publish_first_version, store_sellable
from tests.factories import BuyerFactory

_seeds = iter(range(1_000, 1_000_000))


def dataset_of(photos_by_creator: dict[CreatorProfile, int], *, price_cents: int, slug: str) -> Dataset:
    """A public dataset whose first version holds that many sellable photos of each creator."""
    for creator, photos in photos_by_creator.items():
        for _ in range(photos):
            store_sellable(photo_bytes(next(_seeds)), creator=creator)
    dataset = Dataset.objects.create(slug=slug, title=f"Dataset {slug}", description="Photos.")
    Offer.objects.create(
        dataset=dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=price_cents
    )
    publish_first_version(dataset)
    return dataset


def sell(dataset: Dataset, buyer: User | None = None) -> Order:
    """An order for the research tier, paid and fulfilled as the webhook (or the test checkout) does it."""
    order = orders.order_create(buyer=buyer or BuyerFactory(), dataset=dataset, terms_slug="research")
    orders.order_mark_paid(order=order, amount_cents=order.amount_cents, currency=order.currency)
    orders.order_fulfil(order=order)
    order.refresh_from_db()
    return order
