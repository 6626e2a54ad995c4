"""Reads of datasets: which sellable assets a dataset's saved selection matches, and what they look like."""

from collections import Counter
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum

from creators.models import DuplicateFlag, MediaAsset
from licensing.selectors import sellable_assets

from .models import Dataset, MediaType


def dataset_candidates(*, dataset: Dataset) -> QuerySet[MediaAsset]:
    """The sellable assets the dataset's selection matches, before near-duplicates are thinned out.

    Filters narrow the sellable assets; a manual include adds an asset the filters left out (if it is
    sellable), a manual exclude always wins. An asset must be sellable under every license tier the dataset
    is offered under.
    """
    sellable = sellable_assets(uses=dataset.required_uses)
    for terms in dataset.license_terms.all():
        sellable = sellable.filter(
            pk__in=sellable_assets(uses=dataset.required_uses, terms=terms).values("pk")
        )
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
