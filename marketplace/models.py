from __future__ import annotations

import hashlib
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property

REVIEWERS_GROUP = "reviewers"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields: Any) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields: Any) -> User:
        extra_fields.update(is_staff=True, is_superuser=True, role=User.Role.STAFF)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username: str | None) -> User:
        # Email is the login and is compared case-insensitively, as people type it.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """An account: a creator, a buyer, or staff (reviewers are staff in the reviewers group)."""

    class Role(models.TextChoices):
        CREATOR = "creator", "Creator"
        BUYER = "buyer", "Buyer"
        STAFF = "staff", "Staff"

    email = models.EmailField("email address", max_length=254, unique=True)
    display_name = models.CharField(max_length=100, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.BUYER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # When the owner of the address proved it by opening the link of the sign-up email. Accounts made any other
    # way (staff, demo data) are confirmed when made; an inactive account without it only ever signed up, so a
    # new sign-up with its address may replace its details, where a deactivated account stays as staff left it.
    email_confirmed_at = models.DateTimeField(null=True, blank=True, default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=["creator", "buyer", "staff"]), name="user_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.display_name or self.email

    def get_short_name(self) -> str:
        return self.display_name or self.email.split("@")[0]

    @property
    def is_creator(self) -> bool:
        return self.role == self.Role.CREATOR

    @property
    def is_buyer(self) -> bool:
        return self.role == self.Role.BUYER

    @cached_property
    def is_reviewer(self) -> bool:
        return self.is_staff and self.is_active and self.groups.filter(name=REVIEWERS_GROUP).exists()


class ApiToken(models.Model):
    """A personal access token: only its SHA-256 digest is stored; the key is shown once, at creation."""

    KEY_PREFIX = "dm_"

    class Scope(models.TextChoices):
        READ = "read", "Read: see your account, assets, releases, orders and licenses"
        DOWNLOAD = "download", "Download: get links to the files of your licenses"
        WRITE = "write", "Write: upload and edit, give or withdraw consent, order, manage webhooks"
        REVIEW = "review", "Review: approve or reject releases and consents (reviewers only)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=64)
    # The first characters of the key, kept in clear so a person can tell their tokens apart.
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # What the token may do, chosen when it is made (ApiToken.Scope values); the account's role still applies.
    scopes = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="api_token_live_name_unique_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_for(key: str) -> str:
        # Keys are 256-bit random strings, so a fast hash is enough: nobody can brute-force the preimage.
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class Organization(models.Model):
    """Who holds licenses: one buyer's own, or a team whose members share every license it holds."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="organizations"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    # The organization a buyer's purchases go to unless they choose another.
    is_default = models.BooleanField(default=False)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_once"),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(is_default=True), name="membership_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"


class Invitation(models.Model):
    """An owner's invitation of an email address into an organization, accepted by a buyer signed in with it.

    The owner never learns whether the address has an account: the email tells its owner what to do.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.ACCEPTED, Status.CANCELLED}),
        Status.ACCEPTED: frozenset(),
        Status.CANCELLED: frozenset(),
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    # Normalised (lower case), as accounts store theirs.
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="invitations_sent"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "accepted", "cancelled"]),
                name="invitation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class Order(models.Model):
    """A purchase of one license tier on one dataset version, at the price the server computed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PAID = "paid", "Paid"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"
        DISPUTED = "disputed", "Disputed"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.PAID, Status.CANCELLED}),
        Status.PAID: frozenset({Status.FULFILLED, Status.REFUNDED, Status.DISPUTED}),
        Status.FULFILLED: frozenset({Status.REFUNDED, Status.DISPUTED}),
        Status.CANCELLED: frozenset(),
        Status.REFUNDED: frozenset(),
        # A dispute the buyer loses leaves the grant suspended; one they win is a new order.
        Status.DISPUTED: frozenset({Status.REFUNDED}),
    }

    class Method(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        TEST = "test", "Test checkout"
        # A license on the version that replaced one whose samples were revoked, at no charge.
        UPGRADE = "upgrade", "Free upgrade"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="orders")
    version = models.ForeignKey("datasets.DatasetVersion", on_delete=models.PROTECT, related_name="orders")
    terms_version = models.ForeignKey(
        "licensing.LicenseTermsVersion", on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    method = models.CharField(max_length=8, choices=Method.choices)
    # Integer minor units, computed on the server from the offer; never taken from the client.
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    # A free upgrade after a withdrawal: the order that paid for the license this one replaces.
    upgrade_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="upgrades"
    )
    stripe_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_payment_intent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the buyer went to pay: an exclusive tier is held for this order only from then, for one checkout.
    checkout_started_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["pending", "paid", "fulfilled", "cancelled", "refunded", "disputed"]
                ),
                name="order_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=["stripe", "test", "upgrade"]), name="order_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.public_id} ({self.get_status_display()})"


class LicenseGrant(models.Model):
    """The license an order paid for: who may use which version, under which exact terms, since when."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # One grant per order, whoever fulfils it first (webhook, redirect, reconciliation): the rest find it.
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="grant")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="grants")
    version = models.ForeignKey("datasets.DatasetVersion", on_delete=models.PROTECT, related_name="grants")
    terms_version = models.ForeignKey(
        "licensing.LicenseTermsVersion", on_delete=models.PROTECT, related_name="grants"
    )
    # Set for an exclusive tier, so the database itself refuses a second grant of it on the version.
    exclusive_terms = models.ForeignKey(
        "licensing.LicenseTerms", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uses = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    granted_at = models.DateTimeField(default=timezone.now)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=500, blank=True)
    # The signed license certificate: its exact JSON bytes and the Ed25519 signature of them (base64).
    certificate = models.TextField()
    certificate_signature = models.CharField(max_length=100)

    class Meta:
        ordering = ["-granted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "exclusive_terms"],
                condition=models.Q(exclusive_terms__isnull=False),
                name="grant_exclusive_once_per_version",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended"]), name="grant_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"License {self.public_id}"


# --- Revocation notices ---


class RevocationNotice(models.Model):
    """A licensee told that samples of a version its license covers must be deleted: once per revocation and
    license, whichever channel or retry gets there first."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    revocation = models.ForeignKey("datasets.Revocation", on_delete=models.PROTECT, related_name="notices")
    grant = models.ForeignKey(LicenseGrant, on_delete=models.PROTECT, related_name="revocation_notices")
    # The feed pages on it: a client asks for what came after the last notice it saw.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set when the organization's members were emailed: they are emailed once per notice.
    emailed_at = models.DateTimeField(null=True, blank=True)
    # The license on the version without the revoked samples, given at no charge once it is published.
    upgrade = models.ForeignKey(
        LicenseGrant, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["revocation", "grant"], name="revocation_notice_once_per_grant"),
        ]

    def __str__(self) -> str:
        return f"Notice {self.public_id}"


class WebhookEndpoint(models.Model):
    """Where an organization wants revocation notices posted, and the secret each one is signed with."""

    SECRET_PREFIX = "whsec_"  # noqa: S105 - what a secret starts with, so people recognize one

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    # Kept in clear: signing needs it. Shown to the organization once, when the endpoint is added.
    secret = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One notice posted to one endpoint: its attempts, and what the endpoint answered last."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    notice = models.ForeignKey(RevocationNotice, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due; while an attempt runs, when it is considered lost.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "endpoint"], name="webhook_delivery_once_per_endpoint"),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "delivered", "failed"]),
                name="webhook_delivery_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.notice} to {self.endpoint} ({self.get_status_display()})"


class StripeEvent(models.Model):
    """A Stripe webhook event, stored once by its id: a replay finds it and does nothing more."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


# --- Revenue and payouts ---


class LedgerEntry(models.Model):
    """One line of the revenue ledger, in integer cents: the platform's fee or a creator's share of an order.

    A fulfilled sale writes its lines once; a refund or dispute writes the same lines negated, once, so
    every balance is a plain sum and nothing is ever rewritten.
    """

    class Kind(models.TextChoices):
        FEE = "fee", "Platform fee"
        SHARE = "share", "Creator share"

    class Entry(models.TextChoices):
        SALE = "sale", "Sale"
        REVERSAL = "reversal", "Reversal"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    entry = models.CharField(max_length=8, choices=Entry.choices, default=Entry.SALE)
    # None on the platform's fee line.
    creator = models.ForeignKey(
        "creators.CreatorProfile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    # How many of the version's samples are this creator's assets: what their share was weighed by.
    item_count = models.PositiveIntegerField(default=0)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "creator", "entry"],
                condition=models.Q(kind="share"),
                name="ledger_share_once_per_order_creator",
            ),
            models.UniqueConstraint(
                fields=["order", "entry"],
                condition=models.Q(kind="fee"),
                name="ledger_fee_once_per_order",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="fee", creator__isnull=True)
                | models.Q(kind="share", creator__isnull=False),
                name="ledger_creator_only_on_shares",
            ),
            models.CheckConstraint(
                condition=models.Q(entry="sale", amount_cents__gte=0)
                | models.Q(entry="reversal", amount_cents__lte=0),
                name="ledger_sign_matches_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_entry_display()} {self.get_kind_display()} {self.amount_cents} ({self.order_id})"


class StripeAccount(models.Model):
    """A creator's Stripe Connect (Express) account, where their payouts are transferred."""

    creator = models.OneToOneField(
        "creators.CreatorProfile", on_delete=models.CASCADE, related_name="stripe_account"
    )
    account_id = models.CharField(max_length=255, unique=True)
    # Stripe's word that onboarding is finished; transfers go only to accounts that have it.
    details_submitted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.account_id


class Payout(models.Model):
    """What one order owes one creator, and the Stripe transfer that pays it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.SENT, Status.FAILED}),
        Status.SENT: frozenset(),
        # Retried by the periodic task, until the attempts run out.
        Status.FAILED: frozenset({Status.PENDING}),
    }
    # A payout that failed this many times stays failed, for a human to look at, instead of being retried.
    MAX_ATTEMPTS = 8

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payouts")
    creator = models.ForeignKey("creators.CreatorProfile", on_delete=models.PROTECT, related_name="payouts")
    amount_cents = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    # Sent with every transfer request of this payout, so a replayed request cannot pay twice.
    idempotency_key = models.CharField(max_length=255, unique=True)
    stripe_transfer_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "creator"], name="payout_once_per_order_creator"),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sent", "failed"]), name="payout_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0), name="payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Payout {self.idempotency_key} ({self.get_status_display()})"
