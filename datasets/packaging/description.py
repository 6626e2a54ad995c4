"""A plain description of one dataset version: what the bundle's documents (README.md, LICENSE.txt,
DATASHEET.md, croissant.json) are written from.

The dataset build fills it from the database; the writers read nothing else, so they need no ORM and the
same description always gives the same bytes.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

# The documents' names in a bundle; here, where importing them loads nothing heavy (the web pages need them).
CROISSANT_NAME = "croissant.json"
DATASHEET_NAME = "DATASHEET.md"

# The smallest group of people whose self-identification may be reported: the threshold
# licensing.selectors.self_identification_aggregate already applies. The writers apply it again, so a
# description filled some other way cannot leak a small group into a document buyers download.
MIN_GROUP_SIZE = 5

# The bundle's folder of WebDataset shards.
SHARDS_DIR = "shards"


class Series(StrEnum):
    """The shard series of a bundle, one delivered file type each: loaders (Hugging Face's webdataset
    builder among them) want every sample of a shard to have the same members."""

    PHOTOS = "photos"  # .jpg
    PHOTOS_PNG = "photos-png"  # .png: photos whose transparency or 16-bit depth a JPEG would lose
    VIDEOS = "videos"  # .mp4
    VIDEOS_WEBM = "videos-webm"  # .webm: VP8, VP9 or AV1 with Vorbis or Opus, kept as they are


# Each series' file extension (the media member of its samples) and media type.
SERIES_FILES: dict[Series, tuple[str, str]] = {
    Series.PHOTOS: ("jpg", "image/jpeg"),
    Series.PHOTOS_PNG: ("png", "image/png"),
    Series.VIDEOS: ("mp4", "video/mp4"),
    Series.VIDEOS_WEBM: ("webm", "video/webm"),
}
SERIES_DESCRIPTIONS: dict[Series, str] = {
    Series.PHOTOS: "photos (JPEG)",
    Series.PHOTOS_PNG: "photos with transparency or 16 bits per channel (PNG)",
    Series.VIDEOS: "videos (MP4)",
    Series.VIDEOS_WEBM: "videos (WebM)",
}
SHARD_SERIES = tuple(Series)

# The four uses of the CAWG training-and-data-mining assertion, as licensing.models.Use names them; repeated
# here so the writers stay plain functions that import no Django model.
CAWG_USES = {
    "data_mining": "Data mining",
    "ai_inference": "AI inference",
    "ai_training": "AI training",
    "ai_generative_training": "Generative AI training",
}


@dataclass(frozen=True)
class LicenseTier:
    """One set of license terms the version is sold under, at the exact terms version."""

    slug: str
    name: str
    version: int
    text: str  # LICENSE.txt carries it verbatim
    url: str  # where the site publishes this terms version
    uses: tuple[str, ...]  # CAWG use keys a licensee exercises
    commercial: bool
    likeness_generation: bool  # whether models may generate the likeness of people shown


@dataclass(frozen=True)
class BundleFile:
    """A file of the bundle, by its path relative to the bundle's root."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Counts:
    samples: int
    images: int
    videos: int
    creators: int
    total_bytes: int  # of the media, as the manifest's `bytes` column sums


@dataclass(frozen=True)
class Distributions:
    """Samples per value (creator countries: creators per country), as shown to buyers."""

    categories: Mapping[str, int]
    resolution_classes: Mapping[str, int]
    durations: Mapping[str, int]  # videos per duration bucket
    capture_years: Mapping[str, int]  # "unknown" for samples without a capture time
    creator_countries: Mapping[str, int]
    # IPTC digital source type term (digitalCapture, trainedAlgorithmicMedia...) -> samples declaring it.
    source_types: Mapping[str, int]


@dataclass(frozen=True)
class ConsentCount:
    """Samples whose creator allowed one CAWG use outright, and with a constraint in their own words."""

    allowed: int
    constrained: int


@dataclass(frozen=True)
class Quality:
    """The ingest's quality signals, summarised."""

    blur_percentiles: Mapping[int, float]  # percentile -> variance of the Laplacian (higher is sharper)
    exposure_percentiles: Mapping[int, float]  # percentile -> mean luminance, 0 (black) to 1 (white)
    face_counts: Mapping[str, int]  # faces detected ("0", "1", "2", "3+") -> samples


@dataclass(frozen=True)
class Maintenance:
    contact: str  # an email address buyers write to
    revocation_feed_url: str  # where withdrawal notices for versions are published
    deletion_days: int  # how long a licensee has to delete a withdrawn sample, as the terms set


@dataclass(frozen=True)
class PreviousVersion:
    """The version this one supersedes, and what changed."""

    version: int
    url: str
    removed_samples: int
    reason: str


@dataclass(frozen=True)
class DatasetDescription:
    slug: str
    title: str
    description: str
    version: int
    created: dt.date
    published: dt.date
    publisher_name: str
    publisher_url: str
    public_key_url: str  # the site's Ed25519 public key (PEM) that SHA256SUMS.sig verifies against
    page_url: str  # the dataset version's page on the site
    # Every tier the version is offered under, the cheapest (most restrictive) first; every sample's consent
    # accepts them all, and a licensee's certificate names the one they bought.
    licenses: tuple[LicenseTier, ...]
    category: str
    intended_uses: tuple[str, ...]
    curation_filters: tuple[str, ...]  # the saved filters that chose the samples, in words
    capture_start: dt.date | None  # earliest capture date; None when no sample has one
    capture_end: dt.date | None
    counts: Counts
    distributions: Distributions
    consent: Mapping[str, ConsentCount]  # CAWG use key -> samples
    # Field ("age_range", "gender", "ethnicity") -> value as shown -> people, already k-anonymized.
    self_identification: Mapping[str, Mapping[str, int]]
    quality: Quality
    shards: tuple[BundleFile, ...]
    manifests: tuple[BundleFile, ...]
    maintenance: Maintenance
    previous: PreviousVersion | None

    def __post_init__(self) -> None:
        # Every document states the terms a licensee holds: a version sold under none has nothing to state.
        if not self.licenses:
            raise ValueError(f"{self.slug} v{self.version} is offered under no license tier")

    @property
    def bundle_name(self) -> str:
        """The bundle's root folder, `<slug>-v<N>`, which also prefixes its shards."""
        return f"{self.slug}-v{self.version}"

    def shard_series(self) -> dict[str, tuple[BundleFile, ...]]:
        """The shards of each series the version has, in SHARD_SERIES order; a series with no shard is left
        out. Raises ValueError for a shard in no series of this bundle."""
        by_series: dict[str, list[BundleFile]] = {}
        for shard in self.shards:
            series = next(
                (
                    name
                    for name in SHARD_SERIES
                    if fnmatchcase(shard.name, shard_pattern(self.bundle_name, name))
                ),
                None,
            )
            if series is None:
                raise ValueError(f"shard {shard.name!r} is in no shard series of {self.bundle_name}")
            by_series.setdefault(series, []).append(shard)
        return {name: tuple(by_series[name]) for name in SHARD_SERIES if name in by_series}


def shard_prefix(bundle_name: str, series: str) -> str:
    """The name that starts every shard file of one series: `<slug>-v<N>-photos`."""
    if series not in SHARD_SERIES:
        raise ValueError(f"unknown shard series {series!r}: one of {', '.join(SHARD_SERIES)}")
    return f"{bundle_name}-{series}"


def shard_pattern(bundle_name: str, series: str) -> str:
    """The glob, relative to the bundle's root, that matches every shard of one series and no other file.

    The shard number's first digit is spelled out, so that the photos' pattern leaves out `photos-png-...`.
    """
    return f"{SHARDS_DIR}/{shard_prefix(bundle_name, series)}-[0-9]*.tar"


def reportable_groups(description: DatasetDescription) -> dict[str, dict[str, int]]:
    """The self-identification groups of at least MIN_GROUP_SIZE people, by count then value; empty fields
    left out."""
    result = {}
    for field, counts in sorted(description.self_identification.items()):
        shown = {value: count for value, count in counts.items() if count >= MIN_GROUP_SIZE}
        if shown:
            result[field] = dict(by_count(shown))
    return result


def by_count(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """(value, count) pairs, largest count first, ties by value: the same order for the same counts."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def counted(count: int, noun: str) -> str:
    """ "1 creator", "3 creators": a count with its noun, plural when it is not one (nouns taking an -s)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def share(count: int, total: int) -> str:
    """`count` as a percentage of `total`, one decimal."""
    return f"{100 * count / total:.1f}%" if total else "0.0%"


def use_label(use: str) -> str:
    return CAWG_USES.get(use, use)


def tier_names(description: DatasetDescription) -> list[str]:
    return [tier.name for tier in description.licenses]


def tier_title(tier: LicenseTier) -> str:
    """The tier as the documents name it: its name and terms version."""
    return f"{tier.name}, version {tier.version}"


def permitted_uses_text(tier: LicenseTier) -> str:
    return ", ".join(use_label(use) for use in tier.uses) or "none"


def prohibited_uses(tier: LicenseTier) -> list[str]:
    """What the tier does not permit, in words, from its uses and flags."""
    prohibited = [
        f"{use_label(use)} (not licensed under this tier)" for use in CAWG_USES if use not in tier.uses
    ]
    if not tier.commercial:
        prohibited.append(
            "Commercial use: models trained on the data may not be sold or offered as a paid service"
        )
    if not tier.likeness_generation:
        prohibited.append("Generating the likeness of any person shown")
    # The terms' other restrictions differ by tier and version; their text is the authority.
    prohibited.append(f"Anything else {tier_title(tier)} (LICENSE.txt) does not permit")
    return prohibited
