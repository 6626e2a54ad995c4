"""The catalog: which datasets it lists, search, facets, sorting, keyset pages, and its API and page."""

import datetime
import itertools
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datasets.models import Dataset, DatasetVersion, Offer, VersionItem
from datasets.selectors import CatalogQuery, catalog_cursor_decode, catalog_page
from datasets.services import versions_on_sale_refresh
from licensing.models import LicenseTerms
from tests.factories import MediaAssetFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/datasets/"
PUBLISHED_AT = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=datetime.UTC)
_numbers = itertools.count(1)


def catalog_dataset(
    title: str,
    *,
    description: str = "A dataset.",
    prices: dict[str, int] | None = None,
    items: int = 10,
    public: bool = True,
    statuses: tuple[str, ...] = ("published",),
    published_at: datetime.datetime = PUBLISHED_AT,
    **fields: Any,
) -> Dataset:
    """A dataset with offers and versions made directly in the given states (no bundle is built)."""
    dataset = Dataset.objects.create(
        slug=f"{title.lower().replace(' ', '-')}-{next(_numbers)}",
        title=title,
        description=description,
        is_public=public,
        **fields,
    )
    for slug, cents in (prices if prices is not None else {"research": 25_000}).items():
        Offer.objects.create(dataset=dataset, terms=LicenseTerms.objects.get(slug=slug), price_cents=cents)
    for number, status in enumerate(statuses, start=1):
        DatasetVersion.objects.create(
            dataset=dataset,
            number=number,
            status=status,
            item_count=items,
            total_bytes=items * 1000,
            published_at=published_at if status != "draft" else None,
        )
    versions_on_sale_refresh(datasets=Dataset.objects.filter(pk=dataset.pk))
    return dataset


def slugs(client, **params: Any) -> list[str]:
    response = client.get(API, params)
    assert response.status_code == 200, response.json()
    return [row["slug"] for row in response.json()["results"]]


def walk(client, **params: Any) -> list[str]:
    """Every slug, page by page through next_cursor."""
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        response = client.get(API, {**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.json()
        body = response.json()
        seen += [row["slug"] for row in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


# --- What is listed -----------------------------------------------------------------------------------


def test_lists_only_public_datasets_with_a_published_version(client):
    listed = catalog_dataset("Listed")
    catalog_dataset("Hidden", public=False)
    catalog_dataset("Withdrawn only", statuses=("withdrawn",))
    catalog_dataset("Draft only", statuses=("draft",))
    catalog_dataset("Superseded only", statuses=("superseded",))

    assert slugs(client) == [listed.slug]


def test_a_dataset_is_listed_once_with_its_latest_published_version(client):
    dataset = catalog_dataset("Twice", statuses=("published", "published"), items=7)

    results = client.get(API).json()["results"]

    assert [(row["slug"], row["version"]["number"]) for row in results] == [(dataset.slug, 2)]


def test_a_row_carries_counts_prices_and_links(client):
    dataset = catalog_dataset("Street scenes", prices={"research": 25_000, "commercial": 90_000}, items=3)
    version = dataset.versions.get()
    photo, video = MediaAssetFactory(kind="image"), MediaAssetFactory(kind="video")
    for position, asset in enumerate([photo, photo, video]):
        VersionItem.objects.create(
            version=version, asset=asset if position != 1 else MediaAssetFactory(kind="image"),
            key=f"k{position}", position=position, sha256="0" * 64, byte_size=1, consent_id=version.public_id,
            creator_pseudonym="c",
        )  # fmt: skip

    row = client.get(API).json()["results"][0]

    assert row["version"] | {"published_at": None} == {
        "id": str(version.public_id), "number": 1, "published_at": None, "items": 3, "bytes": 3000,
        "photos": 2, "videos": 1,
    }  # fmt: skip
    assert row["price_from_cents"] == 25_000
    assert row["currency"] == "usd"
    assert [(offer["tier"], offer["price_cents"], offer["currency"]) for offer in row["offers"]] == [
        ("research", 25_000, "usd"),
        ("commercial", 90_000, "usd"),
    ]
    assert row["url"] == f"http://testserver/datasets/{dataset.slug}/"
    assert row["api_url"] == f"http://testserver/api/v1/datasets/{dataset.slug}/"


# --- Search -------------------------------------------------------------------------------------------


def test_search_finds_words_of_the_title_and_the_description(client):
    by_title = catalog_dataset("Rainy crossings")
    by_description = catalog_dataset("Cities", description="Pedestrians crossing wet streets at night.")
    catalog_dataset("Kitchens", description="Plates and pans.")

    assert set(slugs(client, q="crossing")) == {by_title.slug, by_description.slug}
    assert slugs(client, q="pedestrians") == [by_description.slug]


def test_search_ranks_a_title_match_above_a_description_match(client):
    in_description = catalog_dataset("Cities", description="Markets of the harbour towns.")
    in_title = catalog_dataset("Markets", description="Stalls and people.")

    results = client.get(API, {"q": "markets"}).json()["results"]

    assert [row["slug"] for row in results] == [in_title.slug, in_description.slug]
    assert results[0]["relevance"] > results[1]["relevance"]


def test_search_finds_the_category_label_and_the_tags(client):
    nature = catalog_dataset("Outdoors", category="nature")
    tagged = catalog_dataset("Evenings", tags=["lantern"])

    assert slugs(client, q="landscapes") == [nature.slug]
    assert slugs(client, q="lantern") == [tagged.slug]


def test_search_with_nothing_found_answers_an_empty_page(client):
    catalog_dataset("Street scenes")

    body = client.get(API, {"q": "zeppelin"}).json()

    assert body["results"] == [] and body["next_cursor"] is None


# --- Facets and filters -------------------------------------------------------------------------------


def facet(body: dict, name: str) -> dict[str, int]:
    return {value["value"]: value["count"] for value in body["facets"][name]}


def test_facets_count_the_datasets_of_each_value(client):
    catalog_dataset("A", category="street", media_type="image", items=50, prices={"research": 5_000})
    catalog_dataset("B", category="street", media_type="video", items=500, prices={"commercial": 60_000})
    catalog_dataset(
        "C",
        category="food",
        media_type="image",
        items=5_000,
        prices={"research": 20_000, "commercial": 300_000},
    )
    catalog_dataset("Hidden", category="food", public=False)

    body = client.get(API).json()

    assert facet(body, "category") == {"food": 1, "street": 2}
    assert facet(body, "media_type") == {"image": 2, "video": 1}
    assert facet(body, "tier") == {"research": 2, "commercial": 2}
    assert facet(body, "size") == {"under-100": 1, "100-999": 1, "1000-9999": 1}
    assert facet(body, "price") == {"under-100": 1, "100-499": 1, "500-1999": 1}


def test_a_facet_counts_the_other_values_of_its_own_filter(client):
    """Choosing a category narrows the other facets, not the category facet itself (any-of filters)."""
    catalog_dataset("A", category="street", media_type="image")
    catalog_dataset("B", category="food", media_type="video")

    body = client.get(API, {"category": "street"}).json()

    assert facet(body, "category") == {"food": 1, "street": 1}
    assert facet(body, "media_type") == {"image": 1}


def test_filters_narrow_the_results(client):
    street = catalog_dataset("Street", category="street", media_type="image", items=50)
    food = catalog_dataset(
        "Food", category="food", media_type="video", items=500, prices={"commercial": 90_000}
    )

    assert set(slugs(client, category=["street", "food"])) == {street.slug, food.slug}
    assert slugs(client, media_type="video") == [food.slug]
    assert slugs(client, tier="commercial") == [food.slug]
    assert slugs(client, size="100-999") == [food.slug]
    assert slugs(client, min_price=50_000) == [food.slug]
    assert slugs(client, max_price=25_000) == [street.slug]


def test_the_price_is_the_cheapest_of_the_chosen_tiers(client):
    dataset = catalog_dataset("Both", prices={"research": 25_000, "commercial": 90_000})

    row = client.get(API, {"tier": "commercial"}).json()["results"][0]

    assert (row["slug"], row["price_from_cents"]) == (dataset.slug, 90_000)


# --- Sorting and pages --------------------------------------------------------------------------------


def test_each_sort_order(client):
    old_cheap_small = catalog_dataset(
        "Old", prices={"research": 1_000}, items=5, published_at=PUBLISHED_AT - datetime.timedelta(days=2)
    )
    new_dear_mid = catalog_dataset("New", prices={"research": 9_000}, items=50, published_at=PUBLISHED_AT)
    mid_mid_big = catalog_dataset(
        "Mid", prices={"research": 5_000}, items=500, published_at=PUBLISHED_AT - datetime.timedelta(days=1)
    )

    assert slugs(client) == [new_dear_mid.slug, mid_mid_big.slug, old_cheap_small.slug]  # newest by default
    assert slugs(client, sort="price_low") == [old_cheap_small.slug, mid_mid_big.slug, new_dear_mid.slug]
    assert slugs(client, sort="price_high") == [new_dear_mid.slug, mid_mid_big.slug, old_cheap_small.slug]
    assert slugs(client, sort="size") == [mid_mid_big.slug, new_dear_mid.slug, old_cheap_small.slug]


@pytest.mark.parametrize("sort", ["newest", "price_low", "price_high", "size"])
def test_the_cursor_walks_every_dataset_once_even_when_sort_keys_tie(client, sort):
    expected = {
        catalog_dataset(f"Tied {n}", prices={"research": 5_000 + 1_000 * (n % 2)}).slug for n in range(11)
    }

    seen = walk(client, sort=sort, page_size=3)

    assert len(seen) == len(expected) and set(seen) == expected


def test_the_cursor_walks_search_results_by_relevance(client):
    expected = {catalog_dataset(f"Harbour {n}", description="harbour " * (n % 3)).slug for n in range(9)}
    catalog_dataset("Unrelated")

    seen = walk(client, q="harbour", page_size=2)

    assert len(seen) == len(expected) and set(seen) == expected


def test_best_match_walks_the_title_matches_then_the_others_newest_first(client):
    def published(days: int) -> datetime.datetime:
        return PUBLISHED_AT + datetime.timedelta(days=days)

    in_title = [catalog_dataset("Harbour", published_at=published(n % 3)).slug for n in range(5)]
    elsewhere = [
        catalog_dataset("Boats", description="A harbour.", published_at=published(n % 2)).slug
        for n in range(4)
    ]
    catalog_dataset("Unrelated")

    seen = walk(client, q="harbour", page_size=2)

    def newest_first(slugs_made: list[str]) -> list[str]:
        order = {dataset.slug: (dataset.on_sale_since, dataset.pk) for dataset in Dataset.objects.all()}
        return sorted(slugs_made, key=lambda slug: order[slug], reverse=True)

    assert seen == newest_first(in_title) + newest_first(elsewhere)


def test_the_last_page_has_no_cursor(client):
    for n in range(3):
        catalog_dataset(f"Set {n}")

    assert client.get(API, {"page_size": 3}).json()["next_cursor"] is None
    assert client.get(API, {"page_size": 2}).json()["next_cursor"] is not None


def test_later_pages_leave_the_facets_out(client):
    for n in range(3):
        catalog_dataset(f"Set {n}")
    first = client.get(API, {"page_size": 2}).json()

    second = client.get(API, {"page_size": 2, "cursor": first["next_cursor"]}).json()

    assert first["facets"] is not None and second["facets"] is None


def assert_error(response, status: int, field: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert error["status"] == status and error["code"] == "invalid"
    assert field in error["fields"] and error["message"].startswith(f"{field}: ")


@pytest.mark.parametrize("cursor", ["garbage", "a" * 500, "WyJuZXdlc3QiLDEsMiwiMCJd:forged", "a" * 501])
def test_a_garbage_cursor_is_refused(client, cursor):
    catalog_dataset("One")

    assert_error(client.get(API, {"cursor": cursor}), 400, "cursor")


def test_a_tampered_cursor_is_refused(client):
    for n in range(3):
        catalog_dataset(f"Set {n}")
    cursor = client.get(API, {"page_size": 1}).json()["next_cursor"]
    tampered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]

    assert_error(client.get(API, {"page_size": 1, "cursor": tampered}), 400, "cursor")


def test_a_cursor_of_another_search_or_sort_is_refused(client):
    for n in range(3):
        catalog_dataset(f"Set {n}")
    cursor = client.get(API, {"page_size": 1}).json()["next_cursor"]

    assert_error(client.get(API, {"cursor": cursor, "sort": "size"}), 400, "cursor")
    assert_error(client.get(API, {"cursor": cursor, "q": "set"}), 400, "cursor")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": 101}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"sort": "popular"}, "sort"),
        ({"category": "unicorns"}, "category"),
        ({"media_type": "audio"}, "media_type"),
        ({"size": "huge"}, "size"),
        ({"min_price": -1}, "min_price"),
        ({"min_price": 500, "max_price": 100}, "max_price"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_parameters_are_refused_with_the_field_named(client, params, field):
    assert_error(client.get(API, params), 400, field)


# --- Queries ------------------------------------------------------------------------------------------


def _queries_for_page(client, count: int) -> int:
    for n in range(count):
        catalog_dataset(
            f"Bulk {n}", category="street", prices={"research": 1_000 * n, "commercial": 2_000 * n}
        )
    with CaptureQueriesContext(connection) as queries:
        assert len(client.get(API, {"page_size": 100}).json()["results"]) == count
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_page(client):
    few = _queries_for_page(client, 5)
    DatasetVersion.objects.all().delete()
    Dataset.objects.all().delete()
    cache.clear()
    many = _queries_for_page(client, 50)

    assert few == many


def test_the_facets_and_media_counts_of_a_search_are_counted_once_for_all_its_pages(
    django_assert_num_queries,
):
    for n in range(5):
        catalog_dataset(f"Harbour {n}")
    query = CatalogQuery(text="harbour", page_size=2)
    first = catalog_page(query=query)
    assert first.next_cursor is not None

    with django_assert_num_queries(2):  # the page and its offers; facets and counts come from the cache
        again = catalog_page(query=query)
    with django_assert_num_queries(3):  # the next page, its offers and its new versions' counts
        following = catalog_page(query=query, after=catalog_cursor_decode(first.next_cursor, query=query))

    assert again.facets == first.facets == following.facets
    assert [row["photos"] for row in again.rows] == [row["photos"] for row in first.rows]


def test_the_selector_pages_in_constant_queries_with_the_search(django_assert_max_num_queries):
    for n in range(30):
        catalog_dataset(f"Harbour {n}")
    with django_assert_max_num_queries(8):
        page = catalog_page(query=CatalogQuery(text="harbour", page_size=30))
    assert len(page.rows) == 30


# --- The detail endpoint ------------------------------------------------------------------------------


def test_the_detail_has_versions_offers_statistics_and_links(client):
    dataset = catalog_dataset(
        "Street scenes",
        description="Cities.",
        intended_uses="Scene classifiers.",
        category="street",
        prices={"research": 25_000},
        statuses=("superseded", "published"),
    )

    response = client.get(f"{API}{dataset.slug}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["description"], body["intended_uses"]) == (
        "Street scenes", "Cities.", "Scene classifiers."
    )  # fmt: skip
    assert body["category_label"] == "Street"
    assert body["version"]["number"] == 2 and body["version"]["name"] == f"{dataset.slug}-v2"
    assert body["version"]["statistics"]["samples"] == 0
    assert [(past["number"], past["status"]) for past in body["history"]] == [
        (2, "published"),
        (1, "superseded"),
    ]
    assert body["offers"][0] | {"summary": ""} == {
        "tier": "research", "name": "Research", "summary": "", "price_cents": 25_000, "currency": "usd",
        "commercial": False, "likeness_generation": False, "uses": body["offers"][0]["uses"],
    }  # fmt: skip
    assert body["links"] == {
        "page": f"http://testserver/datasets/{dataset.slug}/",
        "croissant": None,
        "previews": [],
    }


@pytest.mark.parametrize("kind", ["hidden", "withdrawn", "missing"])
def test_the_detail_of_a_dataset_not_in_the_catalog_is_not_found(client, kind):
    dataset = (
        catalog_dataset("Hidden", public=False)
        if kind == "hidden"
        else catalog_dataset("Gone", statuses=("withdrawn",))
        if kind == "withdrawn"
        else None
    )

    response = client.get(f"{API}{dataset.slug if dataset else 'nothing-here'}/")

    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


# --- The schema ---------------------------------------------------------------------------------------


def test_the_schema_describes_the_catalog(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    listing = paths["/api/v1/datasets/"]["get"]
    assert {parameter["name"] for parameter in listing["parameters"]} >= {
        "q",
        "category",
        "cursor",
        "page_size",
    }
    assert "/api/v1/datasets/{slug}/" in paths


def test_the_docs_page_loads_nothing_from_another_site(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


# --- The web page -------------------------------------------------------------------------------------


def test_the_page_lists_cards_with_the_cheapest_price(client):
    catalog_dataset("Street scenes", category="street", prices={"research": 25_000, "commercial": 90_000})

    response = client.get("/datasets/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Street scenes" in html and "from <strong>$250.00</strong>" in html
    assert '<label for="catalog-q">' in html and '<label for="catalog-sort">' in html


def test_the_page_filters_by_a_price_bucket(client):
    catalog_dataset("Cheap", prices={"research": 5_000})
    catalog_dataset("Dear", prices={"research": 500_000})

    html = client.get("/datasets/", {"price": "under-100"}).content.decode()

    assert "Cheap" in html and "Dear</a>" not in html


def test_the_page_links_to_the_next_page(client):
    for n in range(30):
        catalog_dataset(f"Set {n}")

    response = client.get("/datasets/")

    assert 'rel="next"' in response.content.decode()
    assert len(response.context["cards"]) == 24


def test_the_page_answers_a_bad_cursor_with_400_and_a_message(client):
    response = client.get("/datasets/", {"cursor": "garbage"})

    assert response.status_code == 400
    assert "cursor: This cursor is not one" in response.content.decode()


def test_the_newest_sort_uses_the_publication_time():
    dataset = catalog_dataset("Now", published_at=timezone.now())

    assert catalog_page(query=CatalogQuery()).rows[0]["slug"] == dataset.slug


# --- PostgreSQL full-text search ------------------------------------------------------------------------

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search and its index are PostgreSQL's"
)


@pytest.mark.parametrize(
    ("column", "index"),
    [
        ("search_document", "datasets_dataset_search_document"),
        ("title_document", "datasets_dataset_title_document"),
    ],
)
@on_postgresql
def test_the_search_reads_a_stored_document_that_an_index_serves(column, index):
    harbour = catalog_dataset("Harbour", description="Boats.")
    catalog_dataset("Cities", description="A harbour at dawn.")
    with CaptureQueriesContext(connection) as captured:
        page = catalog_page(query=CatalogQuery(text="harbour"), with_facets=False)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a few rows: the planner would scan them all
        cursor.execute(f"EXPLAIN SELECT id FROM datasets_dataset WHERE {column} @@ to_tsquery('harbour')")  # noqa: S608 (a parameter of the test)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert f'"{column}"' in captured.captured_queries[0]["sql"]
    assert index in plan
    assert page.rows[0]["slug"] == harbour.slug


@on_postgresql
def test_the_search_understands_stems_phrases_and_exclusions(client):
    boats = catalog_dataset("Harbour boats", description="Fishing boats at dawn.")
    cranes = catalog_dataset("Harbour cranes", description="Cranes unloading ships.")

    assert set(slugs(client, q="harbours")) == {boats.slug, cranes.slug}
    assert slugs(client, q="harbour -cranes") == [boats.slug]
    assert slugs(client, q='"unloading ships"') == [cranes.slug]
    assert slugs(client, q="fishing OR unloading") != []


@on_postgresql
def test_the_search_follows_an_edited_title_at_once(client):
    dataset = catalog_dataset("Harbour")
    Dataset.objects.filter(pk=dataset.pk).update(title="Lighthouses")

    assert slugs(client, q="lighthouse") == [dataset.slug]
    assert slugs(client, q="harbour") == []
