"""Reads on creators and their media, including the near-duplicate search over the perceptual-hash bands."""

from itertools import combinations

from django.db.models import Count, Q, QuerySet

from .ingest.hashing import hamming, phash_from_signed
from .models import CreatorProfile, DuplicateFlag, MediaAsset, PerceptualHash

BAND_BITS = 16
BANDS = 4


def assets_of_creator(*, creator: CreatorProfile) -> QuerySet[MediaAsset]:
    return MediaAsset.objects.filter(creator=creator, erased_at__isnull=True)


def asset_list_for_creator(
    *,
    creator: CreatorProfile,
    status: str = "",
    kind: str = "",
    category: str = "",
    flagged: bool = False,
    search: str = "",
) -> QuerySet[MediaAsset]:
    """The creator's media for the grid and the API, with what each card shows, newest first."""
    assets = (
        assets_of_creator(creator=creator)
        .annotate(duplicate_count=Count("duplicate_flags", distinct=True))
        .prefetch_related("tags")
    )
    if status:
        assets = assets.filter(status=status)
    if kind:
        assets = assets.filter(kind=kind)
    if category:
        assets = assets.filter(category=category)
    if flagged:
        assets = assets.filter(
            Q(duplicate_count__gt=0) | Q(ai_generated=True) | Q(status=MediaAsset.Status.REJECTED)
        )
    if search:
        assets = assets.filter(
            Q(title__icontains=search) | Q(caption__icontains=search) | Q(tags__name=search.lower())
        )
    # Aggregation drops Meta.ordering, and pagination needs a stable one.
    return assets.distinct().order_by("-uploaded_at", "-id")


def asset_status_counts(*, creator: CreatorProfile) -> dict[str, int]:
    counts = dict(assets_of_creator(creator=creator).values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in MediaAsset.Status.values}


def asset_duplicates(*, asset: MediaAsset) -> QuerySet[DuplicateFlag]:
    return (
        DuplicateFlag.objects.filter(asset=asset)
        .select_related("other", "other__creator")
        .order_by("distance")
    )


def hash_bands(value: int) -> dict[str, int]:
    """The four 16-bit bands of a 64-bit hash, as PerceptualHash's band columns."""
    return {f"band{i}": (value >> (BAND_BITS * (BANDS - 1 - i))) & 0xFFFF for i in range(BANDS)}


def _band_neighbours(band: int, radius: int) -> list[int]:
    """Every 16-bit value within `radius` bits of `band`."""
    values = [band]
    for flips in range(1, radius + 1):
        for bits in combinations(range(BAND_BITS), flips):
            mask = 0
            for bit in bits:
                mask |= 1 << bit
            values.append(band ^ mask)
    return values


def near_duplicate_ids(
    *, hashes: list[int], max_bits: int, exclude_asset_id: int | None = None
) -> dict[int, int]:
    """Assets with a hash within `max_bits` of any of `hashes`: {asset id: smallest distance}.

    Multi-index hashing: if two 64-bit hashes differ in at most `max_bits` bits, one of their four 16-bit bands
    differs in at most max_bits // 4 (pigeonhole), so probing each band's index for its neighbours finds every
    match (full recall) while reading only a sliver of the table.
    """
    radius = max_bits // BANDS
    best: dict[int, int] = {}
    for value in hashes:
        bands = hash_bands(value)
        condition = Q()
        for column, band in bands.items():
            condition |= Q(**{f"{column}__in": _band_neighbours(band, radius)})
        candidates = PerceptualHash.objects.filter(condition)
        if exclude_asset_id is not None:
            candidates = candidates.exclude(asset_id=exclude_asset_id)
        for asset_id, stored in candidates.values_list("asset_id", "value"):
            distance = hamming(value, phash_from_signed(stored))
            if distance <= max_bits and distance < best.get(asset_id, max_bits + 1):
                best[asset_id] = distance
    return best


def exact_duplicate_ids(*, sha256: str, exclude_asset_id: int) -> list[int]:
    return list(
        MediaAsset.objects.filter(sha256=sha256).exclude(pk=exclude_asset_id).values_list("pk", flat=True)
    )
