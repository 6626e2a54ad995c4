"""The scratch site's data: a catalog of a few hundred datasets, the demo's built bundle, and buyers who hold it.

Building real bundles is slow (every sample is read, hashed and packed), so only the demo dataset of
`manage.py seed_demo` is built for real; its buyers download its files. The rest of the catalog is generated
in the database by the catalog-scale benchmark's set-based SQL, at a smaller size: published versions with
samples, offers and searchable titles, but no bundle files. Their samples point at the demo's preview
images, so the cards and dataset pages show real pictures.

Import it once Django is set up: it imports models.
"""

import io
from dataclasses import asdict, dataclass
from typing import Any

from django.core.management import call_command
from django.db import connection

from bench import bench_catalog_scale as scale
from datasets.models import Dataset
from marketplace.management.commands.seed_demo import DEMO_DATASET
from marketplace.models import User
from marketplace.services import api_token_create, orders, user_create

# Big enough for a catalog of many pages with searches of every selectivity; small enough to generate in a
# few seconds.
CATALOG_DATASETS = 500
CATALOG_ASSETS = 25_000
CATALOG_CREATORS = 50
BUYERS = 5
BUYER_PASSWORD = "load-test-buyer-pass"  # noqa: S105 (an account of a throwaway database)


@dataclass(frozen=True)
class Buyer:
    email: str
    password: str
    api_token: str


@dataclass(frozen=True)
class Scenario:
    """What the simulated users need to know that the pages do not tell them."""

    search_titles: list[str]  # the catalog's titles: searches use their words, as often as titles do
    buyers: list[Buyer]
    creator_token: str  # a creator's, for the hostile pass after the load (load/attack.py)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def site_seed() -> Scenario:
    """Fill the migrated scratch database; what the simulated users need to know."""
    _catalog_generate()
    # The demo's accounts, media, releases and consents, its dataset with a built bundle, and a purchase.
    call_command("seed_demo", stdout=io.StringIO())
    _previews_share_demo_images()
    buyers = [_buyer_create(number) for number in range(1, BUYERS + 1)]
    with connection.cursor() as cursor:
        # As on a settled database: statistics for the planner, a visibility map for index-only scans.
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT title FROM datasets_dataset WHERE is_public AND title <> '' ORDER BY id",
        )
        titles = [title for (title,) in cursor.fetchall()]
    return Scenario(search_titles=titles, buyers=buyers, creator_token=_creator_token())


def _catalog_generate() -> None:
    """The benchmark's catalog at load-test size; run before the demo, whose version its samples must skip."""
    scale.catalog_generate(assets=CATALOG_ASSETS, datasets=CATALOG_DATASETS, creators=CATALOG_CREATORS)


def _previews_share_demo_images() -> None:
    """Point the generated assets' previews at the demo's real preview files, round robin."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH demo AS (
                SELECT array_agg(preview ORDER BY id) AS previews
                FROM creators_mediaasset WHERE preview <> '' AND preview NOT LIKE 'previews/%'
            )
            UPDATE creators_mediaasset SET preview = demo.previews[1 + id % array_length(demo.previews, 1)]
            FROM demo WHERE preview LIKE 'previews/%'
            """
        )


def _buyer_create(number: int) -> Buyer:
    """A buyer with a research license on the demo dataset, bought through the test checkout, and a token."""
    email = f"load-buyer-{number}@example.com"
    user = user_create(
        email=email, password=BUYER_PASSWORD, role=User.Role.BUYER, display_name=f"Buyer {number}"
    )
    order = orders.order_create(
        buyer=user, dataset=Dataset.objects.get(slug=DEMO_DATASET), terms_slug="research"
    )
    orders.order_pay_test(order=order, buyer=user)
    _token, key = api_token_create(user=user, name="load test")
    return Buyer(email=email, password=BUYER_PASSWORD, api_token=key)


def _creator_token() -> str:
    user = user_create(
        email="load-creator@example.com",
        password=BUYER_PASSWORD,
        role=User.Role.CREATOR,
        display_name="Creator",
    )
    return api_token_create(user=user, name="load test")[1]
