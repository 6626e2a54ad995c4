import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class CreatorProfile(models.Model):
    """A creator's public identity and the facts buyers see in aggregate (country)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="creator_profile"
    )
    display_name = models.CharField(max_length=100)
    bio = models.TextField(blank=True, max_length=2000)
    # ISO 3166-1 alpha-2; datasets report creator countries only in aggregate.
    country = models.CharField(max_length=2, blank=True)
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.display_name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class MediaAsset(models.Model):
    """One uploaded photo or video: its private original, what ingest learned about it, and its derivatives."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Photo"
        VIDEO = "video", "Video"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        REJECTED = "rejected", "Rejected"

    class Category(models.TextChoices):
        PORTRAITS = "portraits", "Portraits"
        FASHION = "fashion", "Fashion"
        FOOD = "food", "Food"
        ARCHITECTURE = "architecture", "Architecture"
        PRODUCTS = "products", "Products"
        NATURE = "nature", "Nature and landscapes"
        ANIMALS = "animals", "Animals"
        STREET = "street", "Street"
        SPORTS = "sports", "Sports"
        TRAVEL = "travel", "Travel"
        DOCUMENTARY = "documentary", "Documentary"
        ABSTRACT = "abstract", "Abstract and textures"
        MOTION_VIDEO = "motion_video", "Motion-rich video"
        OTHER = "other", "Other"

    # The ingest state machine. PROCESSING -> PROCESSING is a retry after a worker died mid-ingest.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.UPLOADED: frozenset({Status.PROCESSING, Status.REJECTED}),
        Status.PROCESSING: frozenset({Status.PROCESSING, Status.READY, Status.REJECTED}),
        Status.READY: frozenset(),
        Status.REJECTED: frozenset(),
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    creator = models.ForeignKey(CreatorProfile, on_delete=models.CASCADE, related_name="assets")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    rejection_reason = models.TextField(blank=True)

    # What the creator says about it.
    title = models.CharField(max_length=200, blank=True)
    caption = models.TextField(blank=True, max_length=5000)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    tags = models.ManyToManyField(Tag, blank=True, related_name="assets")

    # The original: private, stored under a generated name; the client's name is kept for display only.
    original = models.FileField(max_length=255)
    original_name = models.CharField(max_length=255)
    original_bytes = models.BigIntegerField()
    mime_type = models.CharField(max_length=40)

    # What ingest found.
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    capture_time = models.DateTimeField(null=True, blank=True)
    resolution_class = models.CharField(max_length=16, blank=True)
    blur_score = models.FloatField(null=True, blank=True)
    exposure_mean = models.FloatField(null=True, blank=True)
    motion_score = models.FloatField(null=True, blank=True)
    face_count = models.PositiveIntegerField(null=True, blank=True)
    # People's bodies, found whether their faces show or not (from behind, turned away, too small).
    person_count = models.PositiveIntegerField(null=True, blank=True)
    ai_generated = models.BooleanField(default=False)
    # Camera, lens, exposure, colour, IPTC/XMP, C2PA, codec...: shown on the asset page and copied into manifests.
    metadata = models.JSONField(default=dict, blank=True)
    # City-level only (0.1 degree); the exact position never leaves the server and is not even kept.
    gps_coarse_lat = models.FloatField(null=True, blank=True)
    gps_coarse_lon = models.FloatField(null=True, blank=True)

    thumbnail = models.FileField(max_length=255, blank=True)
    preview = models.FileField(max_length=255, blank=True)
    # Video only: the short low-resolution clip; `preview` holds its poster frame.
    preview_clip = models.FileField(max_length=255, blank=True)

    # An erasure request removed the files and the creator's words; the row stays so that audit entries and
    # dataset versions can still name what was removed.
    erased_at = models.DateTimeField(null=True, blank=True)

    ingest_progress = models.PositiveSmallIntegerField(default=0)
    ingest_attempts = models.PositiveSmallIntegerField(default=0)
    uploaded_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [
            models.Index(fields=["creator", "status", "-uploaded_at"]),
            models.Index(fields=["status", "updated_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["uploaded", "processing", "ready", "rejected"]),
                name="asset_status_valid",
            ),
            models.CheckConstraint(condition=models.Q(kind__in=["image", "video"]), name="asset_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.title or self.original_name

    @property
    def people_detected(self) -> int:
        """The detectors' hint of how many people it shows: the more of its faces and its bodies."""
        return max(self.face_count or 0, self.person_count or 0)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.READY, self.Status.REJECTED)


class PerceptualHash(models.Model):
    """A 64-bit perceptual hash of an image or of one video keyframe, split into four 16-bit bands.

    The bands are a multi-index: two hashes within Hamming distance d share at least one band that differs
    by at most d // 4 bits, so a near-duplicate search probes four indexed columns instead of scanning.
    """

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="perceptual_hashes")
    position = models.PositiveIntegerField(default=0)  # 0 for an image; the keyframe's order for a video
    value = models.BigIntegerField()  # the unsigned hash stored as signed 64-bit
    band0 = models.IntegerField(db_index=True)
    band1 = models.IntegerField(db_index=True)
    band2 = models.IntegerField(db_index=True)
    band3 = models.IntegerField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "position"], name="perceptual_hash_one_per_position"),
        ]

    def __str__(self) -> str:
        return f"{self.value & 0xFFFFFFFFFFFFFFFF:016x} (asset {self.asset_id}, #{self.position})"


class DuplicateFlag(models.Model):
    """Two assets that are the same file, or look alike; across accounts it may be stolen work."""

    class Kind(models.TextChoices):
        EXACT = "exact", "Same file"
        NEAR = "near", "Looks alike"

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="duplicate_flags")
    other = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    distance = models.PositiveSmallIntegerField(default=0)  # Hamming bits between the closest hashes
    cross_account = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "other"], name="duplicate_flag_once_per_pair"),
            models.CheckConstraint(
                condition=~models.Q(asset=models.F("other")), name="duplicate_flag_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: asset {self.asset_id} ~ {self.other_id}"


class UploadSession(models.Model):
    """A large file arriving in chunks; a dropped connection resumes from `received`.

    The bytes gather in a part file on the web servers' disk (settings.UPLOAD_CHUNK_DIR, shared between web
    processes), or, for a direct upload, the browser posts the file straight to object storage under
    `direct_key`. Completing the session checks the whole file like any upload and turns it into a MediaAsset.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    creator = models.ForeignKey(CreatorProfile, on_delete=models.CASCADE, related_name="upload_sessions")
    file_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    received = models.BigIntegerField(default=0)
    # Direct uploads only: where the presigned POST puts the file, and the content type its policy pins.
    direct_key = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(received__gte=0, received__lte=models.F("size")),
                name="upload_received_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.received}/{self.size} bytes)"
