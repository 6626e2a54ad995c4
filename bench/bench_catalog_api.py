"""The catalog API's page of 1,000 datasets against the same page through a DRF ModelSerializer, in CPU time,
and the number of SQL queries a page makes at 10 and at 100 items.

Both sides read the same rows (the datasets on sale, newest first, with their version, offers and photo and
video counts) and render the same JSON renderer's bytes; the baseline is what a ModelSerializer with
select_related and prefetch_related costs for them. Versions are made published directly: no bundle is built.
"""

import datetime
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Prefetch, Q
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from bench.harness import Result
from datasets import selectors
from datasets.catalog_api import CatalogLinks, CatalogListView, catalog_item
from datasets.models import Dataset, DatasetVersion, Offer
from datasets.services import versions_on_sale_refresh
from licensing.models import LicenseTerms
from marketplace.api.renderers import FastJSONRenderer

DATASETS = 1_000
REPEATS = 5


def _make_catalog() -> None:
    tiers = list(LicenseTerms.objects.order_by("position")[:2])
    categories = ["street", "food", "nature", "portraits", "architecture"]
    start = timezone.now() - datetime.timedelta(days=DATASETS)
    datasets = Dataset.objects.bulk_create(
        Dataset(
            slug=f"bench-{n}",
            title=f"Bench dataset {n}",
            description=f"Photos of {categories[n % 5]} for benchmarks, number {n}. " * 4,
            category=categories[n % 5],
            media_type=["any", "image", "video"][n % 3],
            is_public=True,
        )
        for n in range(DATASETS)
    )
    Offer.objects.bulk_create(
        Offer(dataset=dataset, terms=terms, price_cents=10_000 * (n % 7 + 1) * (index + 1))
        for n, dataset in enumerate(datasets)
        for index, terms in enumerate(tiers)
    )
    DatasetVersion.objects.bulk_create(
        DatasetVersion(
            dataset=dataset,
            number=1,
            status=DatasetVersion.Status.PUBLISHED,
            item_count=50 + n,
            total_bytes=(50 + n) * 2_000_000,
            published_at=start + datetime.timedelta(hours=n),
        )
        for n, dataset in enumerate(datasets)
    )
    versions_on_sale_refresh(datasets=Dataset.objects.all())


# --- The baseline ------------------------------------------------------------------------------------------


class BaselineOfferSerializer(serializers.ModelSerializer):
    tier = serializers.SlugField(source="terms.slug")
    name = serializers.CharField(source="terms.name")
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Offer
        fields = ("tier", "name", "price_cents", "currency")

    def get_currency(self, offer: Offer) -> str:
        return str(settings.MARKETPLACE_CURRENCY)


class BaselineDatasetSerializer(serializers.ModelSerializer):
    offers = BaselineOfferSerializer(many=True)

    class Meta:
        model = Dataset
        fields = ("slug", "title", "description", "category", "media_type", "offers")


class BaselineVersionSerializer(serializers.ModelSerializer):
    """The same row, the usual DRF way: the version with its dataset nested."""

    id = serializers.UUIDField(source="public_id")
    dataset = BaselineDatasetSerializer()
    photos = serializers.IntegerField()
    videos = serializers.IntegerField()
    price_from_cents = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = (
            "id", "number", "published_at", "item_count", "total_bytes", "photos", "videos", "dataset",
            "price_from_cents", "url",
        )  # fmt: skip

    def get_price_from_cents(self, version: DatasetVersion) -> int | None:
        offers = version.dataset.offers.all()
        return min(offer.price_cents for offer in offers) if offers else None

    def get_url(self, version: DatasetVersion) -> str:
        return self.context["request"].build_absolute_uri(f"/datasets/{version.dataset.slug}/")


def _baseline_page(request: Request, size: int) -> bytes:
    versions = (
        DatasetVersion.objects.filter(status=DatasetVersion.Status.PUBLISHED, dataset__is_public=True)
        .select_related("dataset")
        .prefetch_related(
            Prefetch(
                "dataset__offers", queryset=Offer.objects.select_related("terms").order_by("price_cents")
            )
        )
        .annotate(
            photos=Count("items", filter=Q(items__asset__kind="image")),
            videos=Count("items", filter=Q(items__asset__kind="video")),
        )
        .order_by("-published_at", "-pk")[:size]
    )
    data = BaselineVersionSerializer(versions, many=True, context={"request": request}).data
    return JSONRenderer().render({"results": data, "next_cursor": None})


def _catalog_page(request: Request, size: int) -> bytes:
    """What CatalogListView does for a page, without its 100-row cap on the page size."""
    # Without facets, as every page after the first: the baseline has none (they are timed apart).
    page = selectors.catalog_page(query=selectors.CatalogQuery(page_size=size), with_facets=False)
    links = CatalogLinks(request)
    body = {"results": [catalog_item(row, links) for row in page.rows], "next_cursor": page.next_cursor}
    return FastJSONRenderer().render(body)


def _best_cpu(operation: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.process_time()
        operation()
        best = min(best, time.process_time() - started)
    return best


def _queries_through_the_view(page_size: int) -> int:
    view = CatalogListView.as_view()
    request = RequestFactory(SERVER_NAME="127.0.0.1").get("/api/v1/datasets/", {"page_size": page_size})
    with CaptureQueriesContext(connection) as queries:
        response = view(request)
        response.render()
    assert response.status_code == 200, response.content
    return len(queries)


def run() -> list[Result]:
    _make_catalog()
    request = Request(RequestFactory(SERVER_NAME="127.0.0.1").get("/api/v1/datasets/"))
    ours = _catalog_page(request, DATASETS)
    baseline = _baseline_page(request, DATASETS)
    assert ours.count(b'"slug"') == baseline.count(b'"slug"') == DATASETS
    catalog_cpu = _best_cpu(lambda: _catalog_page(request, DATASETS))
    baseline_cpu = _best_cpu(lambda: _baseline_page(request, DATASETS))
    small, large = _queries_through_the_view(10), _queries_through_the_view(100)
    query = selectors.CatalogQuery()
    facets_cpu = _best_cpu(lambda: selectors.catalog_facets(query))
    return [
        Result(
            name="catalog_page_1000_cpu_vs_model_serializer",
            ratio=baseline_cpu / catalog_cpu,
            target=5.0,
            detail=(
                f"{catalog_cpu * 1000:.0f} ms CPU for the catalog's page of {DATASETS:,} vs "
                f"{baseline_cpu * 1000:.0f} ms through a ModelSerializer with select_related, "
                f"{connection.vendor}; the first page's facets over them add {facets_cpu * 1000:.0f} ms"
            ),
        ),
        Result(
            name="catalog_queries_page_100_vs_10",
            ratio=small / large,
            target=1.0,
            detail=f"{small} SQL queries for a page of 10 through the API view, {large} for a page of 100",
        ),
    ]
