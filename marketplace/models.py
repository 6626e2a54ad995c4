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

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=64)
    # The first characters of the key, kept in clear so a person can tell their tokens apart.
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

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
                condition=models.Q(method__in=["stripe", "test"]), name="order_method_valid"
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
