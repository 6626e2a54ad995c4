"""Reads of datasets: which sellable assets a dataset's saved selection matches, and what they look like."""

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

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
    return Dataset.objects.filter(is_public=True, versions__status=DatasetVersion.Status.PUBLISHED).distinct()


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


def dataset_sellable(*, dataset: Dataset) -> QuerySet[MediaAsset]:
    """The assets sellable for the dataset's required uses under every license tier it is offered under."""
    sellable = sellable_assets(uses=dataset.required_uses)
    for terms in dataset.license_terms.all():
        sellable = sellable.filter(
            pk__in=sellable_assets(uses=dataset.required_uses, terms=terms).values("pk")
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
    if dataset.exclude_near_duplicates:
        phrases.append("Near-duplicates left out, keeping the larger and sharper of each pair")
    return phrases
