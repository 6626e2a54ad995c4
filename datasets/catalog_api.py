"""The catalog in the API: search and browse the datasets on sale, and read one (/api/v1/datasets/...).

Both endpoints are public. Rows come from the selectors as plain dicts and go out as plain dicts: a
serializer per row would cost more CPU than the database does. The serializers below the parameters only
describe the answers to the OpenAPI schema.
"""

from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_schema import error_responses
from creators.models import MediaAsset

from . import selectors
from .models import Dataset, DatasetVersion, MediaType
from .packaging.description import CROISSANT_NAME

DEFAULT_PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
DETAIL_PREVIEWS = 12
MAX_QUERY_LENGTH = 200
FACE_RECOGNITION_HELP = (
    "Sold for face recognition: every person shown gave a separate biometric consent, within its retention."
)


# --- Parameters ----------------------------------------------------------------------------------------


class CatalogParamsSerializer(serializers.Serializer):
    """The catalog's search, filters, sort and page; the web catalog page reads the same parameters."""

    q = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_QUERY_LENGTH, help_text="Words to search for."
    )
    category = serializers.ListField(
        child=serializers.ChoiceField(choices=MediaAsset.Category.choices),
        required=False,
        help_text="Main category; repeat the parameter for several (any of them).",
    )
    media_type = serializers.ListField(
        child=serializers.ChoiceField(choices=MediaType.choices), required=False, help_text="Any of them."
    )
    tier = serializers.ListField(
        child=serializers.SlugField(max_length=40),
        required=False,
        help_text="License tier slug (see /api/v1/license-terms/); datasets offered under any of them.",
    )
    size = serializers.ListField(
        child=serializers.ChoiceField(choices=[(b.slug, b.label) for b in selectors.SIZE_BUCKETS]),
        required=False,
        help_text="Number of samples, as a bucket; any of them.",
    )
    face_recognition = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: only datasets sold for face recognition, whose every person shown gave a separate "
        "biometric consent, still within its retention period.",
    )
    min_price = serializers.IntegerField(
        required=False, min_value=0, help_text="Lowest cheapest price, in cents (inclusive)."
    )
    max_price = serializers.IntegerField(
        required=False, min_value=0, help_text="Highest cheapest price, in cents (inclusive)."
    )
    sort = serializers.ChoiceField(
        choices=selectors.CatalogSort.choices,
        required=False,
        help_text="Default: relevance (datasets whose title holds the words first, then newest first) when "
        "searching, newest otherwise.",
    )
    cursor = serializers.CharField(
        required=False, max_length=500, help_text="The `next_cursor` of the previous page."
    )
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        default=DEFAULT_PAGE_SIZE,
        help_text=f"At most {MAX_PAGE_SIZE}; more is refused with 400.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_price": "It must not be lower than min_price."})
        query = selectors.CatalogQuery(
            text=" ".join(attrs.get("q", "").split()),
            categories=tuple(attrs.get("category", ())),
            media_types=tuple(attrs.get("media_type", ())),
            tiers=tuple(attrs.get("tier", ())),
            sizes=tuple(attrs.get("size", ())),
            min_price=low,
            max_price=high,
            face_recognition=attrs["face_recognition"],
            sort=attrs.get("sort", ""),
            page_size=attrs["page_size"],
        )
        cursor = attrs.get("cursor")
        after = selectors.catalog_cursor_decode(cursor, query=query) if cursor else None
        return {"query": query, "after": after}


def catalog_params(params: Any) -> tuple[selectors.CatalogQuery, selectors.CatalogCursor | None]:
    """The query and cursor the parameters ask for; a DRF ValidationError names each bad one."""
    serializer = CatalogParamsSerializer(data=params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["query"], serializer.validated_data["after"]


# --- Links ---------------------------------------------------------------------------------------------


class CatalogLinks:
    """Absolute URLs of a dataset's page, API resource and previews, reversed once per request, not per row."""

    SLUG = "slug-placeholder"
    KEY = "key-placeholder"

    def __init__(self, request: Request) -> None:
        origin = request.build_absolute_uri("/").rstrip("/")
        self._page = origin + reverse("datasets:detail", args=[self.SLUG])
        self._api = origin + reverse("datasets:api-dataset", args=[self.SLUG])
        self._croissant = origin + reverse("datasets:croissant", args=[self.SLUG])
        self._preview = origin + reverse("datasets:preview", args=[self.SLUG, self.KEY])

    def page(self, slug: str) -> str:
        return self._page.replace(self.SLUG, slug)

    def api(self, slug: str) -> str:
        return self._api.replace(self.SLUG, slug)

    def croissant(self, slug: str) -> str:
        return self._croissant.replace(self.SLUG, slug)

    def preview(self, slug: str, key: str) -> str:
        return self._preview.replace(self.SLUG, slug).replace(self.KEY, key)


def catalog_item(row: dict[str, Any], links: CatalogLinks) -> dict[str, Any]:
    """A catalog row as the API answers it."""
    slug = row["slug"]
    return {
        "slug": slug,
        "title": row["title"],
        "summary": row["summary"],
        "category": row["category"],
        "category_label": row["category_label"],
        "media_type": row["media_type"],
        "face_recognition": row["face_recognition"],
        "version": {
            "id": row["public_id"],
            "number": row["number"],
            "published_at": row["published_at"],
            "items": row["item_count"],
            "bytes": row["total_bytes"],
            "photos": row["photos"],
            "videos": row["videos"],
        },
        "price_from_cents": row["cheapest"],
        "currency": settings.MARKETPLACE_CURRENCY,
        "offers": [{**offer, "currency": settings.MARKETPLACE_CURRENCY} for offer in row["offers"]],
        "relevance": row.get("relevance"),
        "preview_url": links.preview(slug, row["preview_key"]) if row["preview_key"] else None,
        "url": links.page(slug),
        "api_url": links.api(slug),
    }


def facets_data(facets: dict[str, list[selectors.FacetValue]] | None) -> dict[str, Any] | None:
    if facets is None:
        return None
    return {name: [asdict(value) for value in values] for name, values in facets.items()}


# --- What the answers look like (schema only) -------------------------------------------------------------


class CatalogOfferSerializer(serializers.Serializer):
    tier = serializers.SlugField(help_text="The license tier's slug.")
    name = serializers.CharField()
    price_cents = serializers.IntegerField()
    currency = serializers.CharField(help_text='Always "usd".')


class CatalogVersionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    items = serializers.IntegerField(help_text="Samples in the version.")
    bytes = serializers.IntegerField(help_text="Total size of the samples' originals.")
    photos = serializers.IntegerField()
    videos = serializers.IntegerField()


class CatalogItemSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    summary = serializers.CharField(help_text="The start of the description.")
    category = serializers.CharField(help_text="Main category; empty for a mixed dataset.")
    category_label = serializers.CharField()
    media_type = serializers.ChoiceField(choices=MediaType.choices)
    face_recognition = serializers.BooleanField(help_text=FACE_RECOGNITION_HELP)
    version = CatalogVersionSerializer(help_text="The version on sale.")
    price_from_cents = serializers.IntegerField(
        allow_null=True, help_text="The cheapest offer (among the chosen tiers); null when none is priced."
    )
    currency = serializers.CharField()
    offers = CatalogOfferSerializer(many=True)
    relevance = serializers.FloatField(
        allow_null=True,
        help_text="When searching with the default order: 2 when the title holds the words, 1 when they are "
        "found elsewhere (description, uses, category, tags). Best match sorts by it, then newest first.",
    )
    preview_url = serializers.URLField(
        allow_null=True, help_text="A watermarked preview of the first sample."
    )
    url = serializers.URLField(help_text="The dataset's web page.")
    api_url = serializers.URLField()


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="What to pass as the filter's parameter.")
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not the serializer's label
    count = serializers.IntegerField(help_text="Datasets with this value, given the other filters.")


class FacetsSerializer(serializers.Serializer):
    category = FacetValueSerializer(many=True)
    media_type = FacetValueSerializer(many=True)
    tier = FacetValueSerializer(many=True)
    size = FacetValueSerializer(many=True, help_text="Pass `value` as `size`.")
    price = FacetValueSerializer(
        many=True, help_text="Buckets of the cheapest price; see min_price/max_price."
    )


class CatalogListSerializer(serializers.Serializer):
    results = CatalogItemSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Null on the last page.")
    facets = FacetsSerializer(allow_null=True, help_text="On the first page only (without a cursor).")


class DatasetOfferSerializer(CatalogOfferSerializer):
    summary = serializers.CharField()
    commercial = serializers.BooleanField()
    likeness_generation = serializers.BooleanField()
    uses = serializers.ListField(child=serializers.CharField(), help_text="The CAWG uses it grants.")


class DatasetHistorySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DatasetVersion.Status.choices)
    items = serializers.IntegerField()
    change_note = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField()


class DatasetOnSaleSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField()
    name = serializers.CharField(help_text="The bundle's folder name, `<slug>-v<N>`.")
    published_at = serializers.DateTimeField()
    statistics = serializers.DictField(help_text="Counts and distributions, as on the dataset's page.")


class DatasetDetailSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    description = serializers.CharField()
    intended_uses = serializers.CharField()
    category = serializers.CharField()
    category_label = serializers.CharField()
    media_type = serializers.ChoiceField(choices=MediaType.choices)
    face_recognition = serializers.BooleanField(help_text=FACE_RECOGNITION_HELP)
    version = DatasetOnSaleSerializer(allow_null=True)
    history = DatasetHistorySerializer(many=True)
    offers = DatasetOfferSerializer(many=True)
    links = inline_serializer(
        "DatasetLinks",
        fields={
            "page": serializers.URLField(),
            "croissant": serializers.URLField(allow_null=True),
            "previews": serializers.ListField(child=serializers.URLField()),
        },
    )


# --- Views ---------------------------------------------------------------------------------------------


class CatalogListView(APIView):
    """Search and browse the datasets on sale, a page at a time."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="datasets_list",
        parameters=[CatalogParamsSerializer],
        responses={200: CatalogListSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        query, after = catalog_params(request.query_params)
        # Facets describe the whole result: the first page carries them, later pages skip the work.
        page = selectors.catalog_page(query=query, after=after, with_facets=after is None)
        links = CatalogLinks(request)
        return Response(
            {
                "results": [catalog_item(row, links) for row in page.rows],
                "next_cursor": page.next_cursor,
                "facets": facets_data(page.facets),
            }
        )


def _version_on_sale(version: DatasetVersion) -> dict[str, Any]:
    return {
        "id": version.public_id,
        "number": version.number,
        "name": version.name,
        "published_at": version.published_at,
        "statistics": asdict(selectors.published_version_statistics(version=version)),
    }


class CatalogDetailView(APIView):
    """One dataset: its description, the version on sale with its statistics, its history and prices."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="datasets_retrieve",
        # What Django's slug converter matches; anything else never reaches the view.
        parameters=[OpenApiParameter("slug", location=OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$")],
        responses={200: DatasetDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        dataset: Dataset = get_object_or_404(selectors.viewable_datasets(user=request.user), slug=slug)
        version = selectors.latest_published_version(dataset=dataset)
        links = CatalogLinks(request)
        previews = selectors.version_preview_items(version=version, limit=DETAIL_PREVIEWS) if version else []
        has_croissant = (
            version is not None
            and selectors.version_document(version=version, path=CROISSANT_NAME) is not None
        )
        return Response(
            {
                "slug": dataset.slug,
                "title": dataset.title,
                "description": dataset.description,
                "intended_uses": dataset.intended_uses,
                "category": dataset.category,
                "category_label": dict(MediaAsset.Category.choices).get(dataset.category, "Mixed"),
                "media_type": dataset.media_type,
                "face_recognition": dataset.face_recognition,
                "version": _version_on_sale(version) if version else None,
                "history": [
                    {
                        "id": past.public_id,
                        "number": past.number,
                        "status": past.status,
                        "items": past.item_count,
                        "change_note": past.change_note,
                        "published_at": past.published_at,
                        "ended_at": past.ended_at,
                        "end_reason": past.end_reason,
                    }
                    for past in selectors.dataset_version_history(dataset=dataset)
                ],
                "offers": [
                    {
                        "tier": offer.terms.slug,
                        "name": offer.terms.name,
                        "summary": offer.terms.summary,
                        "price_cents": offer.price_cents,
                        "currency": settings.MARKETPLACE_CURRENCY,
                        "commercial": offer.terms.commercial,
                        "likeness_generation": offer.terms.likeness_generation,
                        "uses": offer.terms.uses,
                    }
                    for offer in selectors.dataset_offers(dataset=dataset)
                ],
                "links": {
                    "page": links.page(dataset.slug),
                    "croissant": links.croissant(dataset.slug) if has_croissant else None,
                    "previews": [links.preview(dataset.slug, item.key) for item in previews],
                },
            }
        )
