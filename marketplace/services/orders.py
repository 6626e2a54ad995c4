"""Orders, license grants and their certificates: from a buyer's choice of tier to a license they can prove.

The price is always the offer's, read on the server. Payment is Stripe Checkout when Stripe is configured,
else the built-in test checkout; either way the order is marked paid by `order_mark_paid` and fulfilled by
`order_fulfil`, one idempotent service that the webhook, the success redirect, the reconciliation task and
the test checkout all call.
"""

import base64
from datetime import timedelta
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.transitions import transition
from datasets.models import Dataset, DatasetVersion, Offer
from datasets.selectors import latest_published_version
from datasets.services import version_items_no_longer_sellable
from datasets.signing_key import current_key, signing_key
from licensing.models import LicenseTerms, LicenseTermsVersion
from marketplace.models import LicenseGrant, Membership, Order, Organization, User
from marketplace.services.ledger import ledger_record_sale, ledger_reverse_sale

# How long an order may wait for its payment; a pending exclusive order holds the tier until then.
CHECKOUT_MINUTES = 30
CERTIFICATE_TYPE = "datamarket.license-certificate"
CERTIFICATE_FORMAT = 1


@transaction.atomic
def organization_default(*, user: User) -> Organization:
    """The organization a buyer's licenses go to: their own, made at their first purchase."""
    membership = Membership.objects.select_related("organization").filter(user=user, is_default=True).first()
    if membership is not None:
        return membership.organization
    organization = Organization.objects.create(name=user.get_full_name())
    Membership.objects.create(
        organization=organization, user=user, role=Membership.Role.OWNER, is_default=True
    )
    return organization


def _terms_version_of(version: DatasetVersion, terms: LicenseTerms) -> LicenseTermsVersion:
    """The terms text the version's bundle carries: the newest one published when it was sealed."""
    sealed = version.sealed_at or timezone.now()
    terms_version = (
        LicenseTermsVersion.objects.filter(terms=terms, published_at__lte=sealed).order_by("-version").first()
        or LicenseTermsVersion.objects.filter(terms=terms).order_by("version").first()
    )
    if terms_version is None:
        raise ValidationError(f"{terms.name} has no published text.", code="conflict")
    return terms_version


@transaction.atomic
def order_create(
    *, buyer: User, dataset: Dataset, terms_slug: str, organization: Organization | None = None
) -> Order:
    """A pending order for the dataset's version on sale under one tier, priced by its offer."""
    if not buyer.is_buyer:
        raise PermissionDenied("Licenses are bought from a buyer account.")
    organization = organization or organization_default(user=buyer)
    if not Membership.objects.filter(organization=organization, user=buyer).exists():
        raise PermissionDenied("You are not a member of that organization.")
    version = latest_published_version(dataset=dataset) if dataset.is_public else None
    if version is None:
        raise ValidationError("This dataset has no version on sale.", code="conflict")
    # Locked: two buyers of an exclusive tier are served one at a time.
    offer = (
        Offer.objects.select_for_update()
        .select_related("terms")
        .filter(dataset=dataset, terms__slug=terms_slug)
        .first()
    )
    if offer is None:
        raise ValidationError({"tier": f"This dataset is not sold under the tier {terms_slug!r}."})
    if offer.terms.exclusive:
        _refuse_if_taken(version, offer.terms)
    return Order.objects.create(
        buyer=buyer,
        organization=organization,
        version=version,
        terms_version=_terms_version_of(version, offer.terms),
        method=Order.Method.STRIPE if settings.STRIPE_SECRET_KEY else Order.Method.TEST,
        amount_cents=offer.price_cents,
        currency=settings.MARKETPLACE_CURRENCY,
    )


def _refuse_if_taken(
    version: DatasetVersion, terms: LicenseTerms, *, exclude_order: Order | None = None
) -> None:
    """Refuse an exclusive tier already licensed, or held by another buyer's order in payment."""
    if LicenseGrant.objects.filter(version=version, exclusive_terms=terms).exists():
        raise ValidationError(f"{terms.name} on this version has been licensed exclusively.", code="conflict")
    held = _orders_holding(Order.objects.filter(version=version, terms_version__terms=terms))
    if exclude_order is not None:
        held = held.exclude(pk=exclude_order.pk)
    if held.exists():
        raise ValidationError(
            f"Someone is paying for {terms.name} on this version right now; it is exclusive. Try again in "
            f"{CHECKOUT_MINUTES} minutes.",
            code="conflict",
        )


def _orders_holding(orders: QuerySet[Order]) -> QuerySet[Order]:
    """The orders that hold their exclusive tier: paid, or at the payment page for at most one checkout's time.

    An order only created holds nothing, so orders made and left cannot keep a tier from everyone.
    """
    checkout_start = timezone.now() - timedelta(minutes=CHECKOUT_MINUTES)
    return orders.filter(
        Q(status__in=[Order.Status.PAID, Order.Status.FULFILLED])
        | Q(status=Order.Status.PENDING, checkout_started_at__gte=checkout_start)
    )


@transaction.atomic
def order_checkout_start(*, order: Order) -> Order:
    """The buyer goes to pay. An exclusive tier is held for this order from now, for one checkout's time, if
    no one else holds it and this buyer holds no other exclusive tier (one hold per buyer at a time)."""
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("terms_version__terms").get(pk=order.pk)
    )
    terms = order.terms_version.terms
    if order.checkout_started_at is not None or not terms.exclusive or order.status != Order.Status.PENDING:
        return order
    # The offer's row is the lock order_create takes too: holds of one tier are decided one at a time.
    Offer.objects.select_for_update().filter(dataset_id=order.version.dataset_id, terms=terms).first()
    _refuse_if_taken(order.version, terms, exclude_order=order)
    own_holds = _orders_holding(
        Order.objects.filter(
            buyer_id=order.buyer_id, status=Order.Status.PENDING, terms_version__terms__exclusive=True
        )
    ).exclude(pk=order.pk)
    if own_holds.exists():
        raise ValidationError(
            "You are already paying for another exclusive license: finish that checkout, or wait until it "
            f"ends ({CHECKOUT_MINUTES} minutes at most).",
            code="conflict",
        )
    order.checkout_started_at = timezone.now()
    order.save(update_fields=["checkout_started_at"])
    return order


@transaction.atomic
def order_mark_paid(*, order: Order, amount_cents: int, currency: str, payment_intent: str = "") -> Order:
    """Record the payment of a pending order; a payment of any other amount is refused. Idempotent."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status in (Order.Status.PAID, Order.Status.FULFILLED):
        return order
    if amount_cents != order.amount_cents or currency.lower() != order.currency:
        raise ValidationError(
            f"The payment of {amount_cents} {currency} does not match the order's {order.amount_cents} "
            f"{order.currency}.",
            code="amount_mismatch",
        )
    transition(order, subject="This order", target=Order.Status.PAID)
    order.paid_at = timezone.now()
    order.stripe_payment_intent = payment_intent or order.stripe_payment_intent
    order.save(update_fields=["status", "paid_at", "stripe_payment_intent"])
    return order


class SaleWithdrawn(ValidationError):
    """The version an order bought went off sale, or holds a sample no longer sellable, before it was paid."""


def sale_refusal(*, order: Order) -> str:
    """Why the order's version can no longer be sold ("" if it can), decided under the locks withdrawals take.

    The consents and releases are locked before the version, in the order a withdrawal takes them, so a
    withdrawal and a payment meet one after the other: either the sale came first (and its buyer is told of
    the withdrawal like every holder), or the withdrawal did and nothing is sold.
    """
    positions = version_items_no_longer_sellable(version=order.version)
    version = DatasetVersion.objects.select_for_update().get(pk=order.version_id)
    if version.status != DatasetVersion.Status.PUBLISHED:
        return (
            f"Version {version.number} of this dataset went off sale before the payment arrived"
            f"{': ' + version.end_reason if version.end_reason else '.'}"
        )
    if positions:
        return (
            f"{len(positions)} sample{'s' if len(positions) != 1 else ''} of version {version.number} stopped "
            "being sellable before the payment arrived."
        )
    return ""


@transaction.atomic
def order_fulfil(*, order: Order) -> LicenseGrant:
    """Grant the license a paid order bought, with its signed certificate; the grant already made, if any.

    SaleWithdrawn if the version can no longer be sold: the caller gives the money back.
    """
    # The order's row alone: the version is locked later, after the consents, in the order withdrawals lock.
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("terms_version__terms", "organization", "version__dataset")
        .get(pk=order.pk)
    )
    existing = LicenseGrant.objects.filter(order=order).first()
    if existing is not None:
        return existing
    if order.status != Order.Status.PAID:
        raise ValidationError(
            f"This order is {order.get_status_display().lower()}: only a paid order is fulfilled.",
            code="invalid_transition",
        )
    refusal = sale_refusal(order=order)
    if refusal:
        raise SaleWithdrawn(refusal, code="not_on_sale")
    terms = order.terms_version.terms
    now = timezone.now()
    grant = LicenseGrant(
        order=order,
        organization=order.organization,
        version=order.version,
        terms_version=order.terms_version,
        exclusive_terms=terms if terms.exclusive else None,
        uses=list(terms.uses),
        granted_at=now,
    )
    grant.certificate = certificate_text(grant)
    grant.certificate_signature = base64.b64encode(signing_key().sign(grant.certificate.encode())).decode()
    try:
        with transaction.atomic():
            grant.save()
    except IntegrityError as error:
        raise ValidationError(
            f"{terms.name} on this version was licensed exclusively to someone else.", code="conflict"
        ) from error
    transition(order, subject="This order", target=Order.Status.FULFILLED)
    order.fulfilled_at = now
    order.save(update_fields=["status", "fulfilled_at"])
    # In this transaction: the sale is final and its split recorded together, or neither is.
    ledger_record_sale(order=order)
    return grant


def certificate_text(grant: LicenseGrant) -> str:
    """The certificate's exact JSON text (keys sorted, compact): what the signature covers."""
    version = grant.version
    terms_version = grant.terms_version
    terms = terms_version.terms
    sums = version.files.filter(path="SHA256SUMS").values_list("sha256", flat=True).first()
    site = settings.SITE_URL
    key_id = current_key().key_id
    payload: dict[str, Any] = {
        "type": CERTIFICATE_TYPE,
        "format": CERTIFICATE_FORMAT,
        "license_id": str(grant.public_id),
        "licensee": {"name": grant.organization.name, "id": str(grant.organization.public_id)},
        "dataset": {
            "slug": version.dataset.slug,
            "title": version.dataset.title,
            "version": version.number,
            "bundle": version.name,
            "version_id": str(version.public_id),
            # Ties the license to the exact bundle: SHA256SUMS lists every file's digest.
            "sha256sums_sha256": sums,
        },
        "terms": {
            "slug": terms.slug,
            "name": terms.name,
            "version": terms_version.version,
            "text_sha256": terms_version.text_sha256,
            "url": site + reverse("licensing:terms", args=[terms.slug, terms_version.version]),
        },
        "permitted_uses": sorted(grant.uses),
        "commercial": terms.commercial,
        "likeness_generation": terms.likeness_generation,
        "exclusive": terms.exclusive,
        "granted_at": grant.granted_at.isoformat(timespec="seconds"),
        "verify_url": site + reverse("certificate", args=[grant.public_id]),
        # The key this certificate is signed with, by its own address: it stays there after a rotation.
        "key_id": key_id,
        "public_key_url": site + reverse("signing-key-by-id", args=[key_id]),
    }
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()


def order_pay_test(*, order: Order, buyer: User) -> LicenseGrant:
    """The built-in test checkout: the payment step succeeds, then the same services as Stripe's path.

    SaleWithdrawn, with the order cancelled (no money moved, so that is its refund), when the version can no
    longer be sold.
    """
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",)).select_related("version__dataset").get(pk=order.pk)
        )
        if order.buyer_id != buyer.pk:
            raise PermissionDenied("This is someone else's order.")
        # An order made with the test checkout before Stripe was set up is paid through Stripe too, or not.
        if order.method != Order.Method.TEST or settings.STRIPE_SECRET_KEY:
            raise ValidationError(
                "This site takes payments through Stripe: start again from the dataset page.", code="conflict"
            )
        if order.status == Order.Status.PENDING and order.created_at < timezone.now() - timedelta(
            minutes=CHECKOUT_MINUTES
        ):
            raise ValidationError(
                "This checkout has expired; start again from the dataset page.", code="conflict"
            )
        # The tier's hold before the sale's checks: the offer is locked before the version, as order_create does.
        order_checkout_start(order=order)
        refusal = sale_refusal(order=order) if order.status == Order.Status.PENDING else ""
        if not refusal:
            order_mark_paid(order=order, amount_cents=order.amount_cents, currency=order.currency)
            return order_fulfil(order=order)
        order_cancel(order=order, reason=f"{refusal} Nothing was charged.")
    raise SaleWithdrawn(f"{refusal} Nothing was charged.", code="not_on_sale")


@transaction.atomic
def order_cancel(*, order: Order, reason: str) -> Order:
    """A checkout abandoned, expired or whose payment failed. Idempotent."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == Order.Status.CANCELLED:
        return order
    transition(order, subject="This order", target=Order.Status.CANCELLED)
    order.ended_at, order.end_reason = timezone.now(), reason
    order.save(update_fields=["status", "ended_at", "end_reason"])
    return order


@transaction.atomic
def order_refund_unsold(*, order: Order, reason: str) -> Order:
    """A paid order whose version went off sale before it could be fulfilled: the payment goes back (through
    Stripe, after this commits) and the buyer is told why. Nothing was granted or put on the ledger."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer", "version__dataset")
        .get(pk=order.pk)
    )
    if order.status == Order.Status.REFUNDED:
        return order
    transition(order, subject="This order", target=Order.Status.REFUNDED)
    order.ended_at, order.end_reason = timezone.now(), f"{reason} The payment is refunded in full."
    order.save(update_fields=["status", "ended_at", "end_reason"])
    from marketplace.tasks import email_send, order_refund_send  # the task module imports these services

    if order.method == Order.Method.STRIPE:
        order_refund_send.delay_on_commit(order.pk)
    email_send.delay_on_commit(
        subject=f"Your order for {order.version.dataset.title} was refunded",
        body=render_to_string(
            "marketplace/email/order_refunded.txt",
            {
                "order": order,
                "site_name": settings.SITE_NAME,
                "url": settings.SITE_URL + reverse("license-list"),
            },
        ),
        to=[order.buyer.email],
    )
    return order


@transaction.atomic
def order_refund(*, order: Order, reason: str) -> Order:
    """Money went back: the order is refunded and its license suspended. Idempotent."""
    return _end_with_suspension(order, Order.Status.REFUNDED, reason)


@transaction.atomic
def order_dispute(*, order: Order, reason: str) -> Order:
    """The payment is disputed: the license is suspended while it lasts. Idempotent."""
    return _end_with_suspension(order, Order.Status.DISPUTED, reason)


def _end_with_suspension(order: Order, status: str, reason: str) -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == status:
        return order
    transition(order, subject="This order", target=status)
    order.ended_at, order.end_reason = timezone.now(), reason
    order.save(update_fields=["status", "ended_at", "end_reason"])
    LicenseGrant.objects.filter(order=order, status=LicenseGrant.Status.ACTIVE).update(
        status=LicenseGrant.Status.SUSPENDED, suspended_at=order.ended_at, suspension_reason=reason
    )
    # The money went back (or is held): the fee and the creators' shares of it are taken off the ledger.
    ledger_reverse_sale(order=order)
    return order
