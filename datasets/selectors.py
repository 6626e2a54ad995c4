"""Reads of datasets: which sellable assets a dataset's saved selection matches, and what they look like."""

import datetime
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Substr

from creators.models import DuplicateFlag, MediaAsset
from licensing.models import Permission, Use
from licensing.selectors import self_identification_aggregate, sellable_assets

from .models import BundleFile, Dataset, DatasetVersion, MediaType, Offer, VersionItem


def dataset_candidates(*, dataset: Dataset) -> QuerySet[MediaAsset]:
    """The sellable assets the dataset's selection matches, before near-duplicates are thinned out.

    Filters narrow the sellable assets; a manual include adds an asset the filters left out (if it is
    sellable), a manual exclude always wins. An asset must be sellable under every license tier the dataset
    is offered under.
    """
    sellable = dataset_sellable(dataset=dataset)
    matching = Q()
    if dataset.media_type != MediaType.ANY:
        matching &= Q(kind=dataset.media_type)
    if dataset.categories:
        matching &= Q(category__in=dataset.categories)
    if dataset.tags:
        matching &= Q(tags__name__in=dataset.tags)
    if dataset.min_width:
        matching &= Q(width__gte=dataset.min_width)
    if dataset.min_height:
        matching &= Q(height__gte=dataset.min_height)
    if dataset.min_sharpness is not None:
        matching &= Q(blur_score__gte=dataset.min_sharpness)
    if dataset.exposure_min is not None:
        matching &= Q(exposure_mean__gte=dataset.exposure_min)
    if dataset.exposure_max is not None:
        matching &= Q(exposure_mean__lte=dataset.exposure_max)
    # Both sides as id subqueries: the filters' joins (tags) stay out of the annotated sellability query.
    chosen = Q(pk__in=MediaAsset.objects.filter(matching).values("pk")) | Q(
        pk__in=dataset.included_assets.values("pk")
    )
    return sellable.filter(chosen).exclude(pk__in=dataset.excluded_assets.values("pk")).order_by("pk")


def _preference(asset: MediaAsset) -> tuple[int, float, int]:
    """Which of two look-alikes to keep: more pixels, then sharper, then the earlier upload."""
    return ((asset.width or 0) * (asset.height or 0), asset.blur_score or 0.0, -asset.pk)


def dataset_selection(*, dataset: Dataset) -> list[MediaAsset]:
    """The assets a version built now would hold, in a stable order: candidates minus weaker look-alikes."""
    candidates = list(dataset_candidates(dataset=dataset).select_related("creator"))
    if not dataset.exclude_near_duplicates or len(candidates) < 2:
        return candidates
    by_id = {asset.pk: asset for asset in candidates}
    dropped: set[int] = set()
    pairs = DuplicateFlag.objects.filter(asset_id__in=by_id, other_id__in=by_id).values_list(
        "asset_id", "other_id"
    )
    for first, second in sorted(pairs):
        if first in dropped or second in dropped:
            continue
        weaker = min(by_id[first], by_id[second], key=_preference)
        dropped.add(weaker.pk)
    return [asset for asset in candidates if asset.pk not in dropped]


@dataclass(frozen=True)
class SelectionStatistics:
    count: int
    photos: int
    videos: int
    total_bytes: int
    creators: int
    categories: dict[str, int]
    resolution_classes: dict[str, int]


def selection_statistics(*, assets: list[MediaAsset]) -> SelectionStatistics:
    ids = [asset.pk for asset in assets]
    total = MediaAsset.objects.filter(pk__in=ids).aggregate(total=Sum("original_bytes"))["total"] or 0
    return SelectionStatistics(
        count=len(assets),
        photos=sum(1 for asset in assets if asset.kind == MediaAsset.Kind.IMAGE),
        videos=sum(1 for asset in assets if asset.kind == MediaAsset.Kind.VIDEO),
        total_bytes=total,
        creators=len({asset.creator_id for asset in assets}),
        categories=dict(Counter(asset.get_category_display() for asset in assets).most_common()),
        resolution_classes=dict(
            Counter(asset.resolution_class or "unknown" for asset in assets).most_common()
        ),
    )


# --- A version's statistics (dataset pages and the bundle's datasheet) -------------------------------------

# Upper bounds in seconds, first match wins; a video longer than the last is "over 5 min".
DURATION_BUCKETS: tuple[tuple[float, str], ...] = (
    (10, "under 10 s"),
    (30, "10-30 s"),
    (60, "30-60 s"),
    (300, "1-5 min"),
)
LONGEST_DURATION = "over 5 min"
UNKNOWN = "unknown"
PERCENTILES = (10, 50, 90)


@dataclass(frozen=True)
class VersionStatistics:
    """What a sealed version holds, counted from its items and (while they exist) their assets.

    Items whose asset was erased count in `samples`, `total_bytes` and `creators`, not in the distributions
    that need the asset. People's self-identification is k-anonymous (licensing.selectors).
    """

    samples: int
    photos: int
    videos: int
    creators: int
    total_bytes: int
    categories: dict[str, int]
    resolution_classes: dict[str, int]
    durations: dict[str, int]
    capture_years: dict[str, int]
    creator_countries: dict[str, int]
    consent: dict[str, tuple[int, int]]  # use -> (allowed, allowed with a constraint)
    self_identification: dict[str, dict[str, int]]
    blur_percentiles: dict[int, float]
    exposure_percentiles: dict[int, float]
    face_counts: dict[str, int]
    capture_start: datetime.date | None
    capture_end: datetime.date | None


def _duration_bucket(seconds: float | None) -> str:
    if seconds is None:
        return UNKNOWN
    for bound, label in DURATION_BUCKETS:
        if seconds < bound:
            return label
    return LONGEST_DURATION


def _face_bucket(faces: int | None) -> str:
    if faces is None:
        return UNKNOWN
    return str(faces) if faces < 3 else "3+"


def _percentiles(values: Iterable[float | None]) -> dict[int, float]:
    """Linear-interpolation percentiles (numpy's default) of the values present; empty when there are none."""
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return {}
    result = {}
    for percent in PERCENTILES:
        rank = (len(ordered) - 1) * percent / 100
        low = int(rank)
        high = min(low + 1, len(ordered) - 1)
        result[percent] = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return result


def _in_order(counts: Counter[str], order: Sequence[str]) -> dict[str, int]:
    """Counts in a fixed order of labels (buckets), the ones that never occur left out."""
    return {label: counts[label] for label in order if counts[label]}


def _largest_first(counts: Counter[str]) -> dict[str, int]:
    """Counts from the largest, with "unknown" always last."""
    ordered = {label: count for label, count in counts.most_common() if label != UNKNOWN}
    if counts[UNKNOWN]:
        ordered[UNKNOWN] = counts[UNKNOWN]
    return ordered


# What a sealed version holds changes only when a sample is erased: its statistics and photo and video counts
# are kept this long.
VERSION_COUNTS_CACHE_SECONDS = 10 * 60


def published_version_statistics(*, version: DatasetVersion) -> VersionStatistics:
    """The statistics buyers see: a sealed version's items never change but for an erasure, so they are kept
    for a while rather than counted on every view of the dataset's page."""
    return cache.get_or_set(  # type: ignore[return-value]
        f"datasets:version-statistics:{version.pk}",
        lambda: version_statistics(version=version),
        VERSION_COUNTS_CACHE_SECONDS,
    )


def version_statistics(*, version: DatasetVersion) -> VersionStatistics:
    """The version's statistics in three queries (items, their assets, self-identification)."""
    items = VersionItem.objects.filter(version=version)
    totals = items.aggregate(
        samples=Count("pk"), total_bytes=Sum("byte_size"), creators=Count("creator_pseudonym", distinct=True)
    )
    consent = {use: [0, 0] for use in Use.values}
    asset_ids = []
    rows = items.values_list(
        "uses",
        "asset_id",
        "asset__kind",
        "asset__category",
        "asset__resolution_class",
        "asset__duration_seconds",
        "asset__capture_time",
        "asset__creator_id",
        "asset__creator__country",
        "asset__blur_score",
        "asset__exposure_mean",
        "asset__face_count",
    )
    kinds: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    resolutions: Counter[str] = Counter()
    durations: Counter[str] = Counter()
    years: Counter[str] = Counter()
    faces: Counter[str] = Counter()
    creators_by_country: defaultdict[str, set[int]] = defaultdict(set)
    blur: list[float | None] = []
    exposure: list[float | None] = []
    captured: list[datetime.datetime] = []
    category_labels = dict(MediaAsset.Category.choices)
    for (
        uses,
        asset_id,
        kind,
        category,
        resolution,
        duration,
        capture_time,
        creator_id,
        country,
        blur_score,
        exposure_mean,
        face_count,
    ) in rows.iterator(chunk_size=2000):
        for use, given in (uses or {}).items():
            if use in consent and given.get("permission") == Permission.ALLOWED:
                consent[use][0] += 1
            elif use in consent and given.get("permission") == Permission.CONSTRAINED:
                consent[use][1] += 1
        if asset_id is None:  # erased since the version was sealed
            continue
        asset_ids.append(asset_id)
        kinds[kind] += 1
        categories[category_labels.get(category, category)] += 1
        resolutions[resolution or UNKNOWN] += 1
        if kind == MediaAsset.Kind.VIDEO:
            durations[_duration_bucket(duration)] += 1
        if capture_time is None:
            years[UNKNOWN] += 1
        else:
            years[str(capture_time.year)] += 1
            captured.append(capture_time)
        creators_by_country[country or UNKNOWN].add(creator_id)
        blur.append(blur_score)
        exposure.append(exposure_mean)
        faces[_face_bucket(face_count)] += 1
    countries = Counter({country: len(ids) for country, ids in creators_by_country.items()})
    return VersionStatistics(
        samples=totals["samples"],
        photos=kinds[MediaAsset.Kind.IMAGE],
        videos=kinds[MediaAsset.Kind.VIDEO],
        creators=totals["creators"],
        total_bytes=totals["total_bytes"] or 0,
        categories=_largest_first(categories),
        resolution_classes=_largest_first(resolutions),
        durations=_in_order(
            durations, [*(label for _, label in DURATION_BUCKETS), LONGEST_DURATION, UNKNOWN]
        ),
        capture_years=_in_order(years, [*sorted(label for label in years if label != UNKNOWN), UNKNOWN]),
        creator_countries=_largest_first(countries),
        consent={use: (allowed, constrained) for use, (allowed, constrained) in consent.items()},
        self_identification=self_identification_aggregate(asset_ids=asset_ids),
        blur_percentiles=_percentiles(blur),
        exposure_percentiles=_percentiles(exposure),
        face_counts=_in_order(faces, ["0", "1", "2", "3+", UNKNOWN]),
        capture_start=min(captured).date() if captured else None,
        capture_end=max(captured).date() if captured else None,
    )


# --- The public dataset page --------------------------------------------------------------------------------


def catalog_datasets() -> QuerySet[Dataset]:
    """Datasets anyone may see: public, with a published version on sale."""
    return Dataset.objects.filter(is_public=True, version_on_sale__isnull=False)


def viewable_datasets(*, user: Any) -> QuerySet[Dataset]:
    """What this visitor may open: the catalog, or every dataset for a reviewer previewing it."""
    if getattr(user, "is_reviewer", False):
        return Dataset.objects.all()
    return catalog_datasets()


def latest_published_version(*, dataset: Dataset) -> DatasetVersion | None:
    return dataset.versions.filter(status=DatasetVersion.Status.PUBLISHED).order_by("-number").first()


def dataset_offers(*, dataset: Dataset) -> QuerySet[Offer]:
    return dataset.offers.select_related("terms").order_by("price_cents", "terms__position")


def dataset_version_history(*, dataset: Dataset) -> QuerySet[DatasetVersion]:
    """The versions a buyer may have heard of (published, superseded or withdrawn), newest first."""
    return (
        dataset.versions.filter(
            status__in=[
                DatasetVersion.Status.PUBLISHED,
                DatasetVersion.Status.SUPERSEDED,
                DatasetVersion.Status.WITHDRAWN,
            ]
        )
        .select_related("superseded_by")
        .order_by("-number")
    )


def _previewable_items(*, dataset: Dataset) -> QuerySet[VersionItem]:
    return VersionItem.objects.filter(
        version__dataset=dataset,
        version__status=DatasetVersion.Status.PUBLISHED,
        asset__isnull=False,
        asset__erased_at__isnull=True,
    ).exclude(asset__preview="")


def version_preview_items(*, version: DatasetVersion, limit: int = 24) -> list[VersionItem]:
    """The first items of a published version that have a watermarked preview to show."""
    return list(
        _previewable_items(dataset=version.dataset)
        .filter(version=version)
        .select_related("asset")
        .only(
            "key",
            "position",
            "asset__title",
            "asset__kind",
            "asset__category",
            "asset__width",
            "asset__height",
        )
        .order_by("position")[:limit]
    )


def preview_asset(*, dataset: Dataset, key: str) -> MediaAsset | None:
    """The asset behind a sample key of one of the dataset's published versions, if it has a preview."""
    item = _previewable_items(dataset=dataset).filter(key=key).select_related("asset").first()
    return item.asset if item else None


def version_document(*, version: DatasetVersion, path: str) -> BundleFile | None:
    """One of the bundle's documents ("croissant.json", "DATASHEET.md"), once it is stored."""
    return BundleFile.objects.filter(version=version, kind=BundleFile.Kind.DOCUMENT, path=path).first()


def version_replaced_for_holders(*, version: DatasetVersion) -> DatasetVersion | None:
    """The published version that replaced this one after a withdrawal, once there is one."""
    if not version.revocations.exists():
        return None
    replacement = (
        DatasetVersion.objects.filter(
            Q(pk__in=version.revocations.values("replacement")) | Q(supersedes=version),
            published_at__isnull=False,
        )
        .order_by("number")
        .first()
    )
    return replacement


def shards_holding(*, version: DatasetVersion, keys: Iterable[str]) -> list[int]:
    """Ids of the version's shards that hold these samples: all of them where one's series is unknown."""
    shards: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for pk, series, last_position in (
        version.files.filter(kind=BundleFile.Kind.SHARD)
        .order_by("series", "last_position")
        .values_list("pk", "series", "last_position")
    ):
        shards[series].append((last_position or 0, pk))
    holding = set()
    for series, position in version.items.filter(key__in=list(keys)).values_list("series", "position"):
        held_in = next((pk for last, pk in shards.get(series, []) if last >= position), None)
        if held_in is None:
            # Written before series were recorded, or in a shard already gone: withhold every shard.
            return [pk for series_shards in shards.values() for _, pk in series_shards]
        holding.add(held_in)
    return sorted(holding)


def version_files_servable(*, version: DatasetVersion) -> QuerySet[BundleFile]:
    """The files of a version its licensees may download now.

    A version taken off sale after a withdrawal is served until its replacement is published, and never the
    shards holding a withdrawn sample; from then on its holders are sent to the replacement.
    """
    files = version.files.all()
    revoked = [key for keys in version.revocations.values_list("sample_keys", flat=True) for key in keys]
    if not revoked:
        return files
    if version_replaced_for_holders(version=version) is not None:
        return files.none()
    return files.exclude(pk__in=shards_holding(version=version, keys=revoked))


def dataset_sellable(*, dataset: Dataset, as_of: datetime.datetime | None = None) -> QuerySet[MediaAsset]:
    """The assets sellable for the dataset's required uses under every license tier it is offered under, with
    the texts of those tiers in force now (or at `as_of`, when a version was sealed), and for face
    recognition when the dataset is sold for it."""
    face_recognition = dataset.face_recognition
    sellable = sellable_assets(uses=dataset.required_uses, face_recognition=face_recognition)
    for terms in dataset.license_terms.all():
        sellable = sellable.filter(
            pk__in=sellable_assets(
                uses=dataset.required_uses, terms=terms, face_recognition=face_recognition, as_of=as_of
            ).values("pk")
        )
    return sellable


def dataset_filters_in_words(*, dataset: Dataset) -> list[str]:
    """The saved selection as a buyer reads it in the datasheet: one phrase per filter that narrows it."""
    phrases = []
    if dataset.media_type != MediaType.ANY:
        phrases.append(f"Media: {dataset.get_media_type_display().lower()} only")
    if dataset.categories:
        labels = [MediaAsset.Category(category).label for category in dataset.categories]
        phrases.append(f"Categories: {', '.join(labels)}")
    if dataset.tags:
        phrases.append(f"Tagged with any of: {', '.join(dataset.tags)}")
    if dataset.min_width or dataset.min_height:
        phrases.append(f"At least {dataset.min_width or 0} x {dataset.min_height or 0} pixels")
    if dataset.min_sharpness is not None:
        phrases.append(f"Sharpness (variance of the Laplacian) at least {dataset.min_sharpness:g}")
    if dataset.exposure_min is not None or dataset.exposure_max is not None:
        phrases.append(
            f"Mean brightness between {dataset.exposure_min or 0:g} and "
            f"{1 if dataset.exposure_max is None else dataset.exposure_max:g} (0 black, 1 white)"
        )
    if dataset.required_uses:
        phrases.append(f"Consent required for: {', '.join(Use(use).label for use in dataset.required_uses)}")
    if dataset.face_recognition:
        phrases.append(
            "For face recognition: every person shown gave a separate biometric consent, within its retention"
        )
    if dataset.exclude_near_duplicates:
        phrases.append("Near-duplicates left out, keeping the larger and sharper of each pair")
    return phrases


# --- The catalog: search, facets, sorting and keyset pages ------------------------------------------------

# The dataset's search documents on PostgreSQL: all its words (title, description, uses, category, tags),
# and its title's alone, which tells the first class of best match from the second.
SEARCH_DOCUMENT_COLUMN = "search_document"
TITLE_DOCUMENT_COLUMN = "title_document"
SEARCH_CONFIG = "english"
# Relevance classes of best match: the title holds the words, or they are found elsewhere in the dataset.
RELEVANCE_IN_TITLE = 2.0
RELEVANCE_ELSEWHERE = 1.0
# v2: keys and ids are the dataset's since the catalog reads dataset rows; older cursors are refused.
CURSOR_SALT = "datasets.catalog.cursor.v2"
MAX_SEARCH_TERMS = 10  # the SQLite fallback builds one OR per term: a long query must not build a huge one
SUMMARY_CHARACTERS = 280  # of the description, on a catalog card
# Facet counts are the costliest part of a catalog page and the same for every page of a search: they are
# kept this long, so a count may lag a publication by as much.
FACETS_CACHE_SECONDS = 60


class CatalogSort(models.TextChoices):
    RELEVANCE = "relevance", "Best match"
    NEWEST = "newest", "Newest"
    PRICE_LOW = "price_low", "Price: low to high"
    PRICE_HIGH = "price_high", "Price: high to low"
    SIZE = "size", "Most samples"


@dataclass(frozen=True)
class RangeBucket:
    """A facet value over a number: `low` inclusive, `high` exclusive, None for open-ended."""

    slug: str
    label: str
    low: int | None
    high: int | None

    def holds(self, value: int) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value < self.high)

    def q(self, field: str) -> Q:
        condition = Q()
        if self.low is not None:
            condition &= Q(**{f"{field}__gte": self.low})
        if self.high is not None:
            condition &= Q(**{f"{field}__lt": self.high})
        return condition


SIZE_BUCKETS: tuple[RangeBucket, ...] = (
    RangeBucket("under-100", "Under 100 samples", None, 100),
    RangeBucket("100-999", "100 to 999 samples", 100, 1_000),
    RangeBucket("1000-9999", "1,000 to 9,999 samples", 1_000, 10_000),
    RangeBucket("10000-plus", "10,000 samples or more", 10_000, None),
)
# Over the cheapest price, in cents; a bucket is also the min_price/max_price pair that selects it.
PRICE_BUCKETS: tuple[RangeBucket, ...] = (
    RangeBucket("under-100", "Under $100", None, 10_000),
    RangeBucket("100-499", "$100 to $499.99", 10_000, 50_000),
    RangeBucket("500-1999", "$500 to $1,999.99", 50_000, 200_000),
    RangeBucket("2000-plus", "$2,000 or more", 200_000, None),
)


@dataclass(frozen=True)
class CatalogCursor:
    """Where a page ends: the last row's sort key and id, for the next page to start strictly after."""

    sort: str
    key: Any
    pk: int
    filters: str  # a digest of the search and filters the cursor was made for


@dataclass(frozen=True)
class CatalogQuery:
    text: str = ""
    categories: tuple[str, ...] = ()
    media_types: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    min_price: int | None = None
    max_price: int | None = None
    face_recognition: bool = False  # only datasets sold for face recognition
    sort: str = ""  # empty: relevance when searching, newest otherwise
    page_size: int = 24

    @property
    def effective_sort(self) -> str:
        """Relevance means nothing without words to match: it falls back to the newest first."""
        if self.sort == CatalogSort.RELEVANCE and not self.text:
            return CatalogSort.NEWEST
        return self.sort or (CatalogSort.RELEVANCE if self.text else CatalogSort.NEWEST)

    @property
    def filters_digest(self) -> str:
        """Ties a cursor to the results it was made for: a cursor reused with other filters is refused."""
        return _digest([*self._matching_parts, self.effective_sort])

    @property
    def facets_digest(self) -> str:
        """What the facet counts depend on: the words and filters, not the order or the page."""
        return _digest(self._matching_parts)

    @property
    def _matching_parts(self) -> list[Any]:
        return [
            self.text,
            self.categories,
            self.media_types,
            self.tiers,
            self.sizes,
            self.min_price,
            self.max_price,
            self.face_recognition,
        ]


def _digest(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class CatalogPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    facets: dict[str, list[FacetValue]] | None


def _key_as_json(key: Any) -> Any:
    if isinstance(key, list):  # best match: [relevance class, publication time]
        return [_key_as_json(part) for part in key]
    return key.isoformat() if isinstance(key, datetime.datetime) else key


def catalog_cursor_encode(cursor: CatalogCursor) -> str:
    return signing.dumps([cursor.sort, _key_as_json(cursor.key), cursor.pk, cursor.filters], salt=CURSOR_SALT)


def _moment(text: Any) -> datetime.datetime:
    """A publication time from a cursor; ValueError when it is not one."""
    if not isinstance(text, str):
        raise ValueError(text)
    return datetime.datetime.fromisoformat(text)


def catalog_cursor_decode(text: str, *, query: CatalogQuery) -> CatalogCursor:
    """The cursor a previous page handed out, checked: signed by us, for this sort and these filters."""
    invalid = ValidationError(
        {"cursor": "This cursor is not one this API handed out; start again from the first page."},
        code="invalid",
    )
    try:
        sort, key, pk, filters = signing.loads(text, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise invalid from None
    if filters != query.filters_digest or sort != query.effective_sort:
        raise ValidationError(
            {"cursor": "This cursor belongs to another search, filter or sort; start from the first page."},
            code="invalid",
        )
    if not isinstance(pk, int):
        raise invalid
    try:
        if sort == CatalogSort.NEWEST:
            key = _moment(key)
        elif sort == CatalogSort.RELEVANCE:
            relevance, published = key
            if relevance not in (RELEVANCE_IN_TITLE, RELEVANCE_ELSEWHERE):
                raise ValueError(relevance)
            key = [float(relevance), _moment(published)]
        elif not isinstance(key, int | float) or isinstance(key, bool):
            raise invalid
    except (TypeError, ValueError):
        raise invalid from None
    return CatalogCursor(sort=sort, key=key, pk=pk, filters=filters)


def _cheapest_price(query: CatalogQuery) -> Subquery:
    """The lowest price of the dataset's offers, among the chosen tiers when some are chosen."""
    offers = Offer.objects.filter(dataset=OuterRef("pk"))
    if query.tiers:
        offers = offers.filter(terms__slug__in=query.tiers)
    return Subquery(offers.order_by("price_cents").values("price_cents")[:1])


def _stored_document(column: str) -> RawSQL:
    """A search document PostgreSQL keeps on the dataset's row (generated columns, GIN-indexed; migrations 0004
    and 0005).

    The model does not declare these columns: they exist only on PostgreSQL, and PostgreSQL alone writes them.
    They are named unqualified: only the dataset table has them, and the queries alias that table differently
    (subqueries for facets), so a qualified name would not always resolve.
    """
    return RawSQL(f'"{column}"', [], output_field=SearchVectorField())  # noqa: S611 (a constant)


def _category_codes_labelled(term: str) -> list[str]:
    return [code for code, label in MediaAsset.Category.choices if term in label.lower()]


def _search_terms(text: str) -> list[str]:
    return text.lower().split()[:MAX_SEARCH_TERMS]


def _matching_text(datasets: QuerySet[Dataset], text: str) -> QuerySet[Dataset]:
    """The datasets the words find.

    PostgreSQL: the words as a web search (quotes, OR, -word) against the indexed document of the title,
    description, uses, category and tags. SQLite, the embedded default: every word must occur in one of them.
    """
    if connection.vendor == "postgresql":
        words = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
        return datasets.annotate(
            document=_stored_document(SEARCH_DOCUMENT_COLUMN),
            title_document=_stored_document(TITLE_DOCUMENT_COLUMN),
        ).filter(document=words)
    for term in _search_terms(text):
        datasets = datasets.filter(
            Q(title__icontains=term)
            | Q(description__icontains=term)
            | Q(intended_uses__icontains=term)
            | Q(category__in=_category_codes_labelled(term))
            | Q(tags__icontains=term)
        )
    return datasets


def _in_title(text: str) -> Q:
    """The datasets whose title alone holds the words (of those `_matching_text` found)."""
    if connection.vendor == "postgresql":
        return Q(title_document=SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch"))
    in_title = Q()
    for term in _search_terms(text):
        in_title &= Q(title__icontains=term)
    return in_title


def _catalog_filtered(query: CatalogQuery, *, leave_out: str = "") -> QuerySet[Dataset]:
    """The catalog narrowed by the query's words and filters, but the one named by `leave_out`.

    Facet counts leave their own filter out, so a buyer sees what choosing another value would give.
    """
    datasets: QuerySet[Dataset] = catalog_datasets().annotate(
        cheapest=Coalesce(_cheapest_price(query), 0), item_count=F("version_on_sale__item_count")
    )
    if query.text:
        datasets = _matching_text(datasets, query.text)
    if query.categories and leave_out != "category":
        datasets = datasets.filter(category__in=query.categories)
    if query.media_types and leave_out != "media_type":
        datasets = datasets.filter(media_type__in=query.media_types)
    if query.tiers and leave_out != "tier":
        datasets = datasets.filter(
            Exists(Offer.objects.filter(dataset=OuterRef("pk"), terms__slug__in=query.tiers))
        )
    if query.face_recognition:
        datasets = datasets.filter(face_recognition=True)
    if query.sizes and leave_out != "size":
        chosen = Q()
        for bucket in SIZE_BUCKETS:
            if bucket.slug in query.sizes:
                chosen |= bucket.q("item_count")
        datasets = datasets.filter(chosen)
    if leave_out != "price":
        if query.min_price is not None:
            datasets = datasets.filter(Q(cheapest__gte=query.min_price))
        if query.max_price is not None:
            datasets = datasets.filter(Q(cheapest__lte=query.max_price))
    return datasets


# The sort key of each order, and whether it runs from the highest; the dataset's id breaks ties. Best match
# is by relevance first (RELEVANCE_CLASSES), then newest.
_SORT_KEYS: dict[str, tuple[str, bool]] = {
    CatalogSort.RELEVANCE: ("on_sale_since", True),
    CatalogSort.NEWEST: ("on_sale_since", True),
    CatalogSort.PRICE_LOW: ("cheapest", False),
    CatalogSort.PRICE_HIGH: ("cheapest", True),
    CatalogSort.SIZE: ("item_count", True),
}


def _after(key: str, value: Any, pk: int, descending: bool) -> Q:
    """Rows strictly after (value, pk) in the (key, pk) order: keyset pagination, no OFFSET.

    The leading inclusive bound on the key alone is implied by the rest, but it is what an index on the key
    can seek to: without it PostgreSQL walks the index from the first row and filters every row before the
    cursor, so a deep page costs as much as all the pages before it.
    """
    beyond = "lt" if descending else "gt"
    return Q(**{f"{key}__{beyond}e": value}) & (
        Q(**{f"{key}__{beyond}": value}) | Q(**{key: value, f"pk__{beyond}": pk})
    )


def _first_preview_key() -> Subquery:
    return Subquery(
        VersionItem.objects.filter(
            version=OuterRef("version_on_sale_id"),
            asset__isnull=False,
            asset__erased_at__isnull=True,
            asset__preview__gt="",
        )
        .order_by("position")
        .values("key")[:1]
    )


def _page_columns() -> dict[str, Any]:
    """What a catalog card shows of a dataset and its version on sale, as values() expressions."""
    return {
        "version_id": F("version_on_sale_id"),
        "number": F("version_on_sale__number"),
        "public_id": F("version_on_sale__public_id"),
        "total_bytes": F("version_on_sale__total_bytes"),
        "summary": Substr("description", 1, SUMMARY_CHARACTERS),
        "preview_key": _first_preview_key(),
    }


def _page_rows(query: CatalogQuery, after: CatalogCursor | None) -> list[dict[str, Any]]:
    """One query: the page's rows and one more, to know whether another page follows (no COUNT).

    Best match runs over relevance classes: the datasets whose title holds the words, then the others the
    words find, newest first within each. Each class is read off the newest-first index and stops after a
    page, so a word found in nearly every dataset costs what a rare one does (ts_rank would score every match
    first). A cursor's class and those above it are done with; the classes below start from their top.
    """
    sort = query.effective_sort
    key, descending = _SORT_KEYS[sort]
    direction = "-" if descending else ""
    order = [f"{direction}{key}", f"{direction}pk"]
    fields = [
        "pk",
        "slug",
        "title",
        "category",
        "media_type",
        "face_recognition",
        "item_count",
        "on_sale_since",
    ]
    if key == "cheapest":
        fields.append("cheapest")  # a subquery per row: selected only when sorted by
    datasets = _catalog_filtered(query)
    if sort != CatalogSort.RELEVANCE:
        if after is not None:
            datasets = datasets.filter(_after(key, after.key, after.pk, descending))
        return list(datasets.order_by(*order).values(*fields, **_page_columns())[: query.page_size + 1])

    in_title = _in_title(query.text)
    classes = [
        (RELEVANCE_IN_TITLE, datasets.filter(in_title)),
        (RELEVANCE_ELSEWHERE, datasets.exclude(in_title)),
    ]
    branches = []
    for relevance, matches in classes:
        if after is not None:
            after_relevance, after_key = after.key
            if relevance > after_relevance:
                continue
            if relevance == after_relevance:
                matches = matches.filter(_after(key, after_key, after.pk, descending))
        branches.append(
            matches.annotate(relevance=Value(relevance, output_field=FloatField())).values(
                *fields, "relevance", **_page_columns()
            )
        )
    if len(branches) == 1:
        return list(branches[0].order_by(*order)[: query.page_size + 1])
    # Each class stops after a page on its own where the database allows it (PostgreSQL); SQLite has no
    # ORDER BY or LIMIT inside a UNION, and sorts the union whole.
    if connection.features.supports_slicing_ordering_in_compound:
        branches = [branch.order_by(*order)[: query.page_size + 1] for branch in branches]
    else:
        branches = [branch.order_by() for branch in branches]
    combined = branches[0].union(*branches[1:], all=True)
    return list(combined.order_by("-relevance", *order)[: query.page_size + 1])


def _offers_by_dataset(dataset_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    offers: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = (
        Offer.objects.filter(dataset_id__in=dataset_ids)
        .order_by("dataset_id", "price_cents", "terms__position")
        .values_list("dataset_id", "terms__slug", "terms__name", "price_cents")
    )
    for dataset_id, tier, name, price_cents in rows:
        offers[dataset_id].append({"tier": tier, "name": name, "price_cents": price_cents})
    return offers


def _media_counts_key(version_id: int) -> str:
    return f"datasets:version-media-counts:{version_id}"


def _media_counts(version_ids: list[int]) -> dict[int, Counter[str]]:
    """Photos and videos of each version (erased samples count as neither): from the cache, and the versions
    it lacks counted in one grouped query."""
    cached = cache.get_many([_media_counts_key(version_id) for version_id in version_ids])
    counts: dict[int, Counter[str]] = {
        version_id: cached[_media_counts_key(version_id)]
        for version_id in version_ids
        if _media_counts_key(version_id) in cached
    }
    missing = [version_id for version_id in version_ids if version_id not in counts]
    if missing:
        counted: defaultdict[int, Counter[str]] = defaultdict(
            Counter, {version_id: Counter() for version_id in missing}
        )
        rows = (
            VersionItem.objects.filter(version_id__in=missing, asset__isnull=False)
            .values_list("version_id", "asset__kind")
            .annotate(count=Count("pk"))
            .order_by()
        )
        for version_id, kind, count in rows:
            counted[version_id][kind] = count
        cache.set_many(
            {_media_counts_key(version_id): kinds for version_id, kinds in counted.items()},
            VERSION_COUNTS_CACHE_SECONDS,
        )
        counts.update(counted)
    return counts


def _facet(rows: Iterable[tuple[str, int]], labels: dict[str, str]) -> list[FacetValue]:
    """Facet values in the order of `labels`, the ones with no dataset left out."""
    counts = dict(rows)
    return [FacetValue(value, label, counts[value]) for value, label in labels.items() if counts.get(value)]


def _bucket_counts(
    datasets: QuerySet[Dataset], field: str, buckets: Sequence[RangeBucket]
) -> list[FacetValue]:
    """Datasets per bucket, from their count per value of the field: grouped by the value, the field is
    computed once a row (a bucket per row in SQL would repeat the cheapest price's subquery in every
    condition: 0.3 s for 9,000 datasets)."""
    counts: Counter[str] = Counter()
    for value, count in datasets.values_list(field).annotate(count=Count("pk")).order_by():
        held_by = next((bucket for bucket in buckets if bucket.holds(value)), None)
        if held_by is not None:
            counts[held_by.slug] += count
    return _facet(counts.items(), {bucket.slug: bucket.label for bucket in buckets})


def catalog_facets(query: CatalogQuery) -> dict[str, list[FacetValue]]:
    """How many catalog datasets each filter value would give: one grouped query per facet."""

    def grouped(field: str, leave_out: str) -> Iterable[tuple[str, int]]:
        return (
            _catalog_filtered(query, leave_out=leave_out)
            .values_list(field)
            .annotate(count=Count("pk"))
            .order_by()
        )

    in_tier = _catalog_filtered(query, leave_out="tier").values("pk")
    tiers = (
        Offer.objects.filter(dataset_id__in=in_tier)
        .values_list("terms__slug", "terms__name", "terms__position")
        .annotate(count=Count("pk"))
        .order_by("terms__position", "terms__slug")
    )
    return {
        "category": _facet(grouped("category", "category"), dict(MediaAsset.Category.choices)),
        "media_type": _facet(grouped("media_type", "media_type"), dict(MediaType.choices)),
        "tier": [FacetValue(slug, name, count) for slug, name, _, count in tiers],
        "size": _bucket_counts(_catalog_filtered(query, leave_out="size"), "item_count", SIZE_BUCKETS),
        "price": _bucket_counts(_catalog_filtered(query, leave_out="price"), "cheapest", PRICE_BUCKETS),
    }


def catalog_page(
    *, query: CatalogQuery, after: CatalogCursor | None = None, with_facets: bool = True
) -> CatalogPage:
    """One page of the catalog in a fixed number of queries, whatever the page size.

    The page: one query (`_page_rows`). Then one for the offers of the page's datasets, one for their photo
    and video counts, and with facets one grouped query per facet; the last two only when the cache does not
    have them.
    """
    sort = query.effective_sort
    key, _ = _SORT_KEYS[sort]
    rows = _page_rows(query, after)
    next_cursor = None
    if len(rows) > query.page_size:
        rows = rows[: query.page_size]
        last = rows[-1]
        cursor_key = [last["relevance"], last[key]] if sort == CatalogSort.RELEVANCE else last[key]
        next_cursor = catalog_cursor_encode(
            CatalogCursor(sort=sort, key=cursor_key, pk=last["pk"], filters=query.filters_digest)
        )
    offers = _offers_by_dataset([row["pk"] for row in rows])
    media = _media_counts([row["version_id"] for row in rows])
    category_labels = dict(MediaAsset.Category.choices)
    for row in rows:
        row["published_at"] = row.pop("on_sale_since")
        row["offers"] = offers.get(row["pk"], [])
        # As the price filters and sorts see it, but None rather than 0 for a dataset with no price.
        row["cheapest"] = next(
            (
                offer["price_cents"]
                for offer in row["offers"]
                if not query.tiers or offer["tier"] in query.tiers
            ),
            None,
        )
        kinds = media.get(row["version_id"], Counter())
        row["photos"] = kinds[MediaAsset.Kind.IMAGE]
        row["videos"] = kinds[MediaAsset.Kind.VIDEO]
        row["category_label"] = category_labels.get(row["category"], "Mixed")
    facets = None
    if with_facets:
        facets = cache.get_or_set(
            f"datasets:catalog-facets:{query.facets_digest}",
            lambda: catalog_facets(query),
            FACETS_CACHE_SECONDS,
        )
    return CatalogPage(rows=rows, next_cursor=next_cursor, facets=facets)
