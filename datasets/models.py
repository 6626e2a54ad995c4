"""Curated datasets, their immutable versions, and the files a version's bundle is made of."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class MediaType(models.TextChoices):
    ANY = "any", "Photos and videos"
    IMAGE = "image", "Photos"
    VIDEO = "video", "Videos"


class Dataset(models.Model):
    """A curated dataset: what it is for, and the saved selection each new version is built from."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=10_000)
    category = models.CharField(max_length=20, blank=True)
    intended_uses = models.TextField(max_length=5000, blank=True)
    is_public = models.BooleanField(default=False)

    # The saved selection. Empty means "no restriction" for every filter.
    media_type = models.CharField(max_length=8, choices=MediaType.choices, default=MediaType.ANY)
    categories = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    min_width = models.PositiveIntegerField(null=True, blank=True)
    min_height = models.PositiveIntegerField(null=True, blank=True)
    # Variance of the Laplacian at the analysis scale: higher is sharper.
    min_sharpness = models.FloatField(null=True, blank=True)
    exposure_min = models.FloatField(null=True, blank=True)
    exposure_max = models.FloatField(null=True, blank=True)
    # CAWG uses (licensing.models.Use values) every item's consent must allow.
    required_uses = models.JSONField(default=list, blank=True)
    # The tiers a version is licensed under, each at its price (Offer): every item's consent accepts them all.
    license_terms = models.ManyToManyField(
        "licensing.LicenseTerms", through="Offer", blank=True, related_name="datasets"
    )
    # Sold for face recognition: only assets whose every model release carries a biometric consent within
    # its retention period (BIPA), which licensing.selectors.sellable_assets checks.
    # A database default too, so rows written by plain SQL (the scale benchmark's seed) need not name it.
    face_recognition = models.BooleanField(default=False, db_default=False)
    exclude_near_duplicates = models.BooleanField(default=True)
    included_assets = models.ManyToManyField("creators.MediaAsset", blank=True, related_name="+")
    excluded_assets = models.ManyToManyField("creators.MediaAsset", blank=True, related_name="+")

    # The version a buyer gets: the newest published one, kept here by the services that publish, supersede
    # and withdraw versions (services.version_on_sale_refresh). The catalog reads a dataset's row alone, and
    # walks its newest-first index, rather than finding each dataset's newest published version per query.
    version_on_sale = models.OneToOneField(
        "DatasetVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    on_sale_since = models.DateTimeField(null=True, blank=True)  # when that version was published

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(media_type__in=["any", "image", "video"]), name="dataset_media_type_valid"
            ),
        ]
        indexes = [
            # The catalog, newest first: the default order, and the order within each class of search match.
            models.Index(
                models.F("on_sale_since").desc(),
                models.F("id").desc(),
                name="datasets_catalog_newest",
                condition=models.Q(is_public=True, version_on_sale__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def in_catalog(self) -> bool:
        """Anyone may see it: public, with a version on sale (what selectors.catalog_datasets selects)."""
        return self.is_public and self.version_on_sale_id is not None


class Offer(models.Model):
    """A license tier a dataset is sold under, and its price in the currency's minor unit (cents)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="offers")
    terms = models.ForeignKey("licensing.LicenseTerms", on_delete=models.PROTECT, related_name="offers")
    price_cents = models.PositiveIntegerField()

    class Meta:
        ordering = ["dataset", "price_cents"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "terms"], name="offer_terms_once"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} under {self.terms}"


class DatasetVersion(models.Model):
    """One frozen selection of a dataset and its bundle; what a buyer licenses. Never changes once sealed."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        BUILDING = "building", "Building"
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded"
        WITHDRAWN = "withdrawn", "Withdrawn"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.DRAFT: frozenset({Status.BUILDING}),
        Status.BUILDING: frozenset({Status.PUBLISHED, Status.FAILED}),
        Status.FAILED: frozenset({Status.BUILDING}),
        Status.PUBLISHED: frozenset({Status.SUPERSEDED, Status.WITHDRAWN}),
        Status.SUPERSEDED: frozenset(),
        Status.WITHDRAWN: frozenset(),
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    # The version this one replaces, and why (a withdrawal of consent, a curation change).
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    change_note = models.TextField(blank=True, max_length=2000)

    # Build progress, shown on the page while the worker runs.
    item_count = models.PositiveIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    shards_done = models.PositiveIntegerField(default=0)
    # Items whose delivery file is made: the build makes them all before it writes the first shard.
    deliveries_done = models.PositiveIntegerField(default=0)
    build_attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts since the build last finished a shard: a build that keeps dying in the same place is failed.
    stalled_attempts = models.PositiveSmallIntegerField(default=0)
    # The attempt that holds the build, and when it last showed progress (its lease runs from then).
    build_token = models.UUIDField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    # Why a published version was superseded or withdrawn, as its buyers are told.
    end_reason = models.TextField(blank=True, max_length=2000)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sealed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="dataset_version_number_unique"),
            models.UniqueConstraint(
                fields=["dataset"],
                condition=models.Q(status="building"),
                name="dataset_one_building_version",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["draft", "building", "published", "failed", "superseded", "withdrawn"]
                ),
                name="dataset_version_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset.slug} v{self.number}"

    @property
    def name(self) -> str:
        """The bundle's folder and shard prefix: `<slug>-v<N>`."""
        return f"{self.dataset.slug}-v{self.number}"


class VersionItem(models.Model):
    """One sample of a sealed version, with what made it sellable at that moment."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="items")
    # Kept when the asset is later erased: buyers must still be told which sample key to delete.
    asset = models.ForeignKey("creators.MediaAsset", on_delete=models.SET_NULL, null=True, related_name="+")
    key = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    byte_size = models.BigIntegerField()
    consent_id = models.UUIDField()
    release_ids = models.JSONField(default=list)
    # Each CAWG use's permission and constraint, as the consent said when the version was sealed.
    uses = models.JSONField(default=dict)
    creator_pseudonym = models.CharField(max_length=32)
    # The file this sample is delivered as, once the build has made or found it; `sha256` and `byte_size`
    # are then that file's.
    delivery = models.ForeignKey(
        "Delivery", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The series (so the shard) it was written in: kept when its delivery file is deleted after a withdrawal,
    # so the shard holding it can still be found and withheld.
    series = models.CharField(max_length=16, blank=True, db_default="")
    # When an erasure removed the shard and documents of this version that held it.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="version_item_key_unique"),
            models.UniqueConstraint(fields=["version", "position"], name="version_item_position_unique"),
            models.UniqueConstraint(
                fields=["version", "asset"],
                condition=models.Q(asset__isnull=False),
                name="version_item_asset_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} / {self.key}"


class Delivery(models.Model):
    """The file a buyer receives for one asset under one set of rights: made once, reused by every version.

    Made by the build from the asset's original (datasets.packaging.renditions): no location, serial number
    or owner name, upright, in its series' file type, with its rights in XMP and a signed C2PA manifest. The
    rights it names (uses, consent, releases, license terms) are hashed into `rights_digest`: a version
    sold under the same rights reuses the file, a change of any makes a new one.
    """

    asset = models.ForeignKey("creators.MediaAsset", on_delete=models.CASCADE, related_name="+")
    rights_digest = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=255)
    series = models.CharField(max_length=16)
    sha256 = models.CharField(max_length=64)
    byte_size = models.BigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # datasets.packaging.renditions.Method and credentials.Credentials values.
    method = models.CharField(max_length=32)
    content_credentials = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "rights_digest"], name="delivery_once_per_rights"),
        ]

    def __str__(self) -> str:
        return f"asset {self.asset_id} / {self.rights_digest[:12]}"


class BundleFile(models.Model):
    """A finished file of a version's bundle, in storage: a build resumes after the last finished shard."""

    class Kind(models.TextChoices):
        SHARD = "shard", "Shard"
        DOCUMENT = "document", "Document"

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="files")

    class Series(models.TextChoices):
        """One file type per series (datasets.packaging.renditions.Series): loaders expect the same members
        in every sample of a shard."""

        PHOTOS = "photos", "Photos (JPEG)"
        PHOTOS_PNG = "photos-png", "Photos with transparency or 16 bits (PNG)"
        VIDEOS = "videos", "Videos (MP4)"
        VIDEOS_WEBM = "videos-webm", "Videos (WebM)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    series = models.CharField(max_length=16, choices=Series.choices, blank=True)
    # Relative to the bundle's root, as SHA256SUMS lists it: "shards/<name>-000000.tar", "croissant.json".
    path = models.CharField(max_length=255)
    storage_name = models.CharField(max_length=255)
    byte_size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Shards only: their order, and the position of the last item each one holds.
    shard_index = models.PositiveIntegerField(null=True, blank=True)
    last_position = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["version", "kind", "path"]
        constraints = [
            models.UniqueConstraint(fields=["version", "path"], name="bundle_file_path_unique"),
            models.UniqueConstraint(
                fields=["version", "series", "shard_index"],
                condition=models.Q(kind="shard"),
                name="bundle_file_shard_index_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="document", series="", shard_index__isnull=True)
                | models.Q(
                    kind="shard",
                    series__in=["photos", "photos-png", "videos", "videos-webm"],
                    shard_index__isnull=False,
                ),
                name="bundle_file_shard_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} / {self.path}"


class Revocation(models.Model):
    """Samples of a version its licensees must delete: consent for them was withdrawn after the version sold.

    One row per version and withdrawal. The licensees to notify are the holders of grants on `version`; the
    storefront reads these rows for its revocation feed, webhooks and emails.
    """

    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="revocations")
    sample_keys = models.JSONField()
    reason = models.TextField(max_length=2000)
    withdrawn_at = models.DateTimeField()
    # The version that replaces it for its licensees, at no charge, once it is built.
    replacement = models.ForeignKey(
        DatasetVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.version}: {len(self.sample_keys)} sample(s) revoked"
