"""Releases, consent per asset, versioned license terms, and the append-only audit log."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Use(models.TextChoices):
    """The four uses of the CAWG training-and-data-mining assertion (cawg.training-mining)."""

    DATA_MINING = "data_mining", "Data mining"
    AI_INFERENCE = "ai_inference", "AI inference"
    AI_TRAINING = "ai_training", "AI training"
    GENERATIVE_AI_TRAINING = "ai_generative_training", "Generative AI training"


# The CAWG assertion's own keys, written into manifests and C2PA-style metadata.
CAWG_ENTRY = {
    Use.DATA_MINING: "cawg.data_mining",
    Use.AI_INFERENCE: "cawg.ai_inference",
    Use.AI_TRAINING: "cawg.ai_training",
    Use.GENERATIVE_AI_TRAINING: "cawg.ai_generative_training",
}


class Permission(models.TextChoices):
    """What a creator says about one use, in the CAWG assertion's words."""

    ALLOWED = "allowed", "Allowed"
    NOT_ALLOWED = "notAllowed", "Not allowed"
    CONSTRAINED = "constrained", "Allowed with a constraint"


class LicenseTerms(models.Model):
    """A family of license terms buyers license under (research, commercial, ...); its text lives in versions."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    summary = models.CharField(max_length=300)
    commercial = models.BooleanField()
    # Whether a licensee may train models that generate the likeness of people in the data.
    likeness_generation = models.BooleanField()
    # The CAWG uses a buyer under these terms exercises: an asset is sold under them only if it allows all.
    uses = models.JSONField(default=list)
    # An exclusive license is granted once per dataset version: the first paid order gets it, no other.
    exclusive = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name_plural = "license terms"

    def __str__(self) -> str:
        return self.name


class LicenseTermsVersion(models.Model):
    """One immutable text of a license; every grant records the exact version it was made under."""

    terms = models.ForeignKey(LicenseTerms, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["terms", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["terms", "version"], name="license_terms_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.terms.name}, version {self.version}"


def release_file_path(release: "Release", filename: str) -> str:
    # Never the uploader's name: a generated one under the release's own folder.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"releases/{release.public_id}/{uuid.uuid4().hex}.{suffix}"


class Release(models.Model):
    """A model release (one person) or a property release (one property or artwork), covering one shoot.

    A release asked for online starts awaiting the person's signature; a scanned paper release arrives signed.
    A rejected release is fixed by its creator and submitted again; an approved one can only be revoked.
    """

    class Kind(models.TextChoices):
        MODEL = "model", "Model release"
        PROPERTY = "property", "Property release"

    class Status(models.TextChoices):
        AWAITING_SIGNATURE = "awaiting_signature", "Awaiting signature"
        SUBMITTED = "submitted", "Submitted for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        REVOKED = "revoked", "Revoked"

    class Method(models.TextChoices):
        ONLINE = "online", "Signed online"
        PAPER = "paper", "Scanned paper release"

    class RejectionReason(models.TextChoices):
        SIGNATURE_MISSING = "signature_missing", "A signature is missing or illegible"
        NAME_MISMATCH = "name_mismatch", "The names do not match"
        GUARDIAN_MISSING = "guardian_missing", "A minor's parent or guardian has not signed"
        WITNESS_INVALID = "witness_invalid", "The witness is missing or not independent"
        DATES_MISMATCH = "dates_mismatch", "The shoot dates do not match the photos"
        WRONG_ASSETS = "wrong_assets", "The person or property is not in these assets"
        SCAN_UNREADABLE = "scan_unreadable", "The scan cannot be read"
        OTHER = "other", "Another problem (see the note)"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.AWAITING_SIGNATURE: frozenset({Status.SUBMITTED, Status.REVOKED}),
        Status.SUBMITTED: frozenset({Status.APPROVED, Status.REJECTED, Status.REVOKED}),
        # Back to review with a better scan (paper), or back to the person with a new link (online).
        Status.REJECTED: frozenset({Status.SUBMITTED, Status.AWAITING_SIGNATURE, Status.REVOKED}),
        Status.APPROVED: frozenset({Status.REVOKED}),
        Status.REVOKED: frozenset(),
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    creator = models.ForeignKey("creators.CreatorProfile", on_delete=models.CASCADE, related_name="releases")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    method = models.CharField(max_length=10, choices=Method.choices)
    assets = models.ManyToManyField("creators.MediaAsset", related_name="releases")

    # The person (model release) or the property's owner (property release).
    legal_name = models.CharField(max_length=200)
    date_of_birth = models.DateField(null=True, blank=True)
    address = models.TextField(blank=True, max_length=500)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    property_description = models.TextField(blank=True, max_length=2000)
    # A person under 18 at signing: a parent or guardian signs too.
    guardian_name = models.CharField(max_length=200, blank=True)
    guardian_signature = models.FileField(upload_to=release_file_path, max_length=255, blank=True)

    shoot_start = models.DateField()
    shoot_end = models.DateField()
    # Asset ids whose EXIF capture time falls outside the shoot dates: shown to the reviewer.
    capture_time_outside_shoot = models.JSONField(default=list, blank=True)

    signed_name = models.CharField(max_length=200, blank=True)
    signature = models.FileField(upload_to=release_file_path, max_length=255, blank=True)
    signed_on = models.DateField(null=True, blank=True)
    witness_name = models.CharField(max_length=200, blank=True)
    witness_signature = models.FileField(upload_to=release_file_path, max_length=255, blank=True)
    witness_signed_on = models.DateField(null=True, blank=True)
    scan = models.FileField(upload_to=release_file_path, max_length=255, blank=True)
    # Evidence of an online signature: when, from where, with what.
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_ip = models.GenericIPAddressField(null=True, blank=True)
    signed_user_agent = models.CharField(max_length=500, blank=True)
    # The release wording the person read, so a later edit of the text cannot change what they agreed to.
    wording_sha256 = models.CharField(max_length=64, blank=True)
    # A new link invalidates older ones: the signing token carries this number.
    link_generation = models.PositiveIntegerField(default=0)

    # Illinois BIPA: a separate written consent to use face geometry, for a stated retention period.
    biometric_consent = models.BooleanField(default=False)
    biometric_retention_until = models.DateField(null=True, blank=True)
    # The creator and the person were told the retention period is ending (once), and when it ended: the
    # consent is then off, the retention date kept as what was agreed.
    biometric_notice_sent_at = models.DateTimeField(null=True, blank=True)
    biometric_ended_at = models.DateTimeField(null=True, blank=True)

    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=30, choices=RejectionReason.choices, blank=True)
    review_note = models.TextField(blank=True, max_length=2000)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.TextField(blank=True, max_length=2000)
    erased_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "submitted_at"]),
            models.Index(fields=["creator", "status"]),
            # The daily search for retention periods ending: only releases still holding a biometric consent.
            models.Index(
                fields=["biometric_retention_until"],
                condition=models.Q(biometric_consent=True),
                name="release_biometric_retention",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["awaiting_signature", "submitted", "approved", "rejected", "revoked"]
                ),
                name="release_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["model", "property"]), name="release_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(shoot_end__gte=models.F("shoot_start")), name="release_shoot_dates_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(biometric_consent=False)
                | models.Q(biometric_retention_until__isnull=False),
                name="release_biometric_consent_has_retention",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.legal_name or 'erased'}"

    @property
    def is_minor_at_signing(self) -> bool:
        if self.date_of_birth is None:
            return False
        signed, born = self.signed_on or timezone.localdate(), self.date_of_birth
        # By (month, day), not date.replace(year=...), which fails for someone born on 29 February.
        return signed.year - born.year - ((signed.month, signed.day) < (born.month, born.day)) < 18


class SelfIdentification(models.Model):
    """What a person chose to say about themselves; kept apart from the release, reported only in aggregate."""

    class AgeRange(models.TextChoices):
        UNDER_18 = "under_18", "Under 18"
        FROM_18_TO_29 = "18_29", "18-29"
        FROM_30_TO_44 = "30_44", "30-44"
        FROM_45_TO_64 = "45_64", "45-64"
        OVER_65 = "65_plus", "65 and over"

    release = models.OneToOneField(Release, on_delete=models.CASCADE, related_name="self_identification")
    age_range = models.CharField(max_length=10, choices=AgeRange.choices, blank=True)
    # Free text in the person's own words, trimmed and compared case-insensitively when counted.
    gender = models.CharField(max_length=60, blank=True)
    ethnicity = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Self-identification for release {self.release_id}"


class Consent(models.Model):
    """A creator's consent for one asset: a permission for each CAWG use and the license terms accepted.

    A reviewer approves it (pending -> active) or rejects it; withdrawal is terminal. Giving consent again
    means what it says: the same consent changes nothing; a narrower one (a use removed, a constraint added,
    a tier dropped) replaces the active consent at once, a withdrawal of what was removed and needing no
    review since it only takes rights away; a broader one waits for review beside the active consent, which
    holds until the broader one is approved and replaces it. So an asset has at most one active and one
    pending consent.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting review"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        REPLACED = "replaced", "Replaced by a newer consent"

    class RejectionReason(models.TextChoices):
        RELEASE_MISSING = "release_missing", "A release is missing for a person or property shown"
        DUPLICATE = "duplicate", "It duplicates another account's work"
        AI_GENERATED = "ai_generated", "It is declared or detected as AI-generated"
        CONSTRAINT_UNCLEAR = "constraint_unclear", "A constraint is unclear or cannot be honoured"
        NOT_OWNED = "not_owned", "The creator does not appear to hold the rights"
        OTHER = "other", "Another problem (see the note)"

    TRANSITIONS: dict[str, frozenset[str]] = {
        # A request waiting for review is replaced by a newer request; an active consent by a narrower one at
        # once, or by a broader one once that is approved.
        Status.PENDING: frozenset({Status.ACTIVE, Status.REJECTED, Status.WITHDRAWN, Status.REPLACED}),
        Status.ACTIVE: frozenset({Status.WITHDRAWN, Status.REPLACED}),
        Status.REJECTED: frozenset(),
        Status.WITHDRAWN: frozenset(),
        Status.REPLACED: frozenset(),
    }
    LIVE = (Status.PENDING, Status.ACTIVE)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    asset = models.ForeignKey("creators.MediaAsset", on_delete=models.CASCADE, related_name="consents")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)

    data_mining = models.CharField(max_length=12, choices=Permission.choices)
    data_mining_constraint = models.CharField(max_length=500, blank=True)
    ai_inference = models.CharField(max_length=12, choices=Permission.choices)
    ai_inference_constraint = models.CharField(max_length=500, blank=True)
    ai_training = models.CharField(max_length=12, choices=Permission.choices)
    ai_training_constraint = models.CharField(max_length=500, blank=True)
    ai_generative_training = models.CharField(max_length=12, choices=Permission.choices)
    ai_generative_training_constraint = models.CharField(max_length=500, blank=True)
    accepted_terms = models.ManyToManyField(LicenseTerms, related_name="consents")
    # The exact texts of those terms the creator accepted: a newer text applies only once they accept it too.
    accepted_terms_versions = models.ManyToManyField(LicenseTermsVersion, related_name="consents")
    # The active consent this one narrows (at once) or broadens (once approved); a request withdrawn before
    # review leaves it in place, so several requests may name the same one.
    replaces = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="successors"
    )
    # The creator says the asset shows private property or artwork that needs a property release.
    property_release_required = models.BooleanField(default=False)

    # Set by the reviewer: how many identifiable people the asset shows (the face detector's count is only a
    # hint), and why, when it says no one is identifiable although faces were detected.
    identifiable_people = models.PositiveSmallIntegerField(null=True, blank=True)
    people_note = models.TextField(blank=True, max_length=2000)

    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    given_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=30, choices=RejectionReason.choices, blank=True)
    review_note = models.TextField(blank=True, max_length=2000)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["-given_at", "-id"]
        indexes = [models.Index(fields=["status", "given_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["asset"], condition=models.Q(status="active"), name="consent_one_active_per_asset"
            ),
            models.UniqueConstraint(
                fields=["asset"], condition=models.Q(status="pending"), name="consent_one_pending_per_asset"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "active", "rejected", "withdrawn", "replaced"]),
                name="consent_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Consent {self.get_status_display().lower()} for asset {self.asset_id}"

    def permission(self, use: str) -> str:
        return str(getattr(self, use))

    def constraint(self, use: str) -> str:
        return str(getattr(self, f"{use}_constraint"))


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs):
        raise TypeError("The audit log is append-only.")

    def delete(self):
        raise TypeError("The audit log is append-only.")


class AuditEvent(models.Model):
    """One append-only entry of the audit log: who did what to which object, with the state before and after.

    Each entry's hash covers its own content and the previous entry's hash, so changing or removing any entry
    breaks every link after it (`manage.py audit_verify`). On PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    # Not editable in place: the database itself holds the order of the chain.
    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    # Kept beside the id: the account may be deleted or renamed, the entry may not change.
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The audit log is append-only.")
        # An INSERT or nothing: a new instance given an existing primary key would otherwise UPDATE that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")
