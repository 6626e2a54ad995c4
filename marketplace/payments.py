"""Stripe Checkout: sessions for orders, the webhook's events, and reconciliation of missed webhooks.

Every change to an order goes through marketplace.services.orders, whose services lock the order and are
idempotent; this module only turns what Stripe says into calls of them. Three paths can learn that a
session was paid (the webhook, the buyer's success redirect, the reconciliation task) and any of them may
run at the same moment as another: the first one fulfils, the rest find the grant already made.

Events out of order (Stripe does not promise an order) end in the state the in-order sequence gives:

- `checkout.session.completed` with `payment_status` "unpaid" (an asynchronous payment method) changes
  nothing, so it is harmless after `async_payment_succeeded` or `async_payment_failed`.
- A refund or dispute that arrives before the payment it reverses cannot find its order yet (the payment
  intent is recorded when the order is marked paid): it is stored unprocessed and applied as soon as the
  payment is recorded, by whichever path records it, and by the reconciliation task otherwise.
- A refund is final: a dispute of a refunded order changes nothing, a refund of a disputed order refunds it.
  Whatever order they come in, an order with a full refund ends refunded, else one with a dispute disputed.
- A partial refund (`charge.refunded` with `refunded` false) leaves the license in place: it is logged for
  a human, since it is usually a goodwill discount rather than a cancelled purchase.
"""

import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import orjson
import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from stripe.params.checkout import SessionCreateParams

from marketplace.models import Order, StripeEvent
from marketplace.services.orders import (
    CHECKOUT_MINUTES,
    SaleWithdrawn,
    order_cancel,
    order_checkout_start,
    order_dispute,
    order_fulfil,
    order_mark_paid,
    order_refund,
    order_refund_unsold,
)

logger = logging.getLogger(__name__)

# Stripe's own default: a signature older than this is refused, and so is one
# dated further than this in the future (a clock that far ahead is not Stripe's, and such a header would stay
# replayable for longer than the tolerance promises).
WEBHOOK_TOLERANCE_SECONDS = 300
# The webhook normally lands within seconds; reconciliation leaves it that long before asking Stripe itself.
RECONCILE_AFTER_MINUTES = 5
# A Checkout Session lives 24 hours at most, so an order older than this has nothing left to reconcile.
RECONCILE_WITHIN_HOURS = 48
# Stripe refuses a session that expires sooner than 30 minutes after its creation. An order's session is
# first created within SESSION_CREATE_MINUTES of the order (the checkout view does it at once) and expires
# a fixed time after the order: the same parameters on every retry, as Stripe requires of requests sharing
# an idempotency key, and at least Stripe's minimum after whichever attempt creates it.
SESSION_MINIMUM_MINUTES = 30
SESSION_CREATE_MINUTES = 5
SESSION_EXPIRES_AFTER_ORDER = timedelta(
    minutes=max(CHECKOUT_MINUTES, SESSION_MINIMUM_MINUTES) + SESSION_CREATE_MINUTES
)

CHARGE_REVERSAL_TYPES = ("charge.refunded", "charge.dispute.created")


class WebhookRefused(ValidationError):
    """A webhook request that is not a genuine, fresh Stripe event: answered 400, nothing stored."""


def stripe_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@functools.cache
def _client_for(api_key: str, api_base: str) -> stripe.StripeClient:
    # One client per configuration, so its HTTP connections are reused; a client of our own rather than the
    # module-level `stripe.api_key`/`stripe.api_base`, which every thread of the process would share.
    return stripe.StripeClient(
        api_key, base_addresses={"api": api_base} if api_base else None, max_network_retries=2
    )


def _session_retrieve(session_id: str) -> dict[str, Any]:
    return _client().v1.checkout.sessions.retrieve(session_id).to_dict()


# --- Checkout ---------------------------------------------------------------------------------------------


def checkout_session_create(*, order: Order, success_url: str, cancel_url: str) -> str:
    """The URL of the order's Stripe Checkout page, creating its session once, at the server's price."""
    if order.method != Order.Method.STRIPE:
        raise ValidationError("This order is paid with the test checkout.", code="conflict")
    if order.status != Order.Status.PENDING:
        raise ValidationError(
            f"This order is {order.get_status_display().lower()}: there is nothing left to pay.",
            code="conflict",
        )
    try:
        if order.stripe_session_id:
            return _open_session_url(order.stripe_session_id)
        if order.created_at < timezone.now() - timedelta(minutes=SESSION_CREATE_MINUTES):
            raise ValidationError(
                "This checkout has expired; start again from the dataset page.", code="conflict"
            )
        order_checkout_start(order=order)
        session = _client().v1.checkout.sessions.create(
            params=_session_params(order, success_url=success_url, cancel_url=cancel_url),
            # A retry after a timeout, or a second click, gets the same session back from Stripe.
            options={"idempotency_key": f"checkout-{order.public_id}"},
        )
    except stripe.StripeError as error:
        logger.exception(
            "Stripe refused or could not be reached creating a session for order %s", order.public_id
        )
        raise ValidationError(
            "The payment service is unavailable; please try again in a minute.", code="payment_unavailable"
        ) from error
    order_session_attach(order=order, session_id=session.id)
    return str(session.url)


def _open_session_url(session_id: str) -> str:
    session = _session_retrieve(session_id)
    if session.get("status") != "open" or not session.get("url"):
        raise ValidationError(
            "This checkout has ended; if you paid, your license appears in a minute.", code="conflict"
        )
    return str(session["url"])


def _session_params(order: Order, *, success_url: str, cancel_url: str) -> SessionCreateParams:
    version = order.version
    product = f"{version.dataset.title} v{version.number}: {order.terms_version.terms.name} license"
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    # The order's own figures, computed on the server when the order was made.
                    "currency": order.currency,
                    "unit_amount": order.amount_cents,
                    "product_data": {"name": product[:250]},
                },
            }
        ],
        "client_reference_id": str(order.public_id),
        "metadata": {"order_id": str(order.public_id)},
        "payment_intent_data": {"metadata": {"order_id": str(order.public_id)}},
        "customer_email": order.buyer.email,
        "success_url": success_url,
        "cancel_url": cancel_url,
        # Close to the order's own checkout window, so a pending order does not stay payable for a day.
        "expires_at": int((order.created_at + SESSION_EXPIRES_AFTER_ORDER).timestamp()),
    }


@transaction.atomic
def order_session_attach(*, order: Order, session_id: str) -> Order:
    """Record the Checkout Session that pays for the order. Idempotent."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.stripe_session_id == session_id:
        return order
    if order.stripe_session_id:
        raise ValidationError("This order already has another checkout session.", code="conflict")
    order.stripe_session_id = session_id
    order.save(update_fields=["stripe_session_id"])
    return order


def checkout_session_sync(*, order: Order) -> Order:
    """The order as Stripe's session says it should be now: fulfilled if paid (for the success redirect)."""
    if order.stripe_session_id and order.status == Order.Status.PENDING:
        try:
            session = _session_retrieve(order.stripe_session_id)
        except stripe.StripeError:
            # The webhook or the reconciliation task will bring the order up to date.
            logger.warning("Could not retrieve Stripe session %s", order.stripe_session_id, exc_info=True)
        else:
            with transaction.atomic():
                _refusals_logged(f"session {order.stripe_session_id}", _session_completed, session)
    return Order.objects.get(pk=order.pk)


# --- Webhook ----------------------------------------------------------------------------------------------


def webhook_receive(*, body: bytes, signature_header: str) -> StripeEvent | None:
    """Verify, store once and apply a Stripe event; None for an event already received."""
    event = _verified_event(body, signature_header)
    with transaction.atomic():
        # A concurrent copy of the same event waits here on the unique event id until the first commits,
        # then finds it; if the first rolled back, the copy stores and applies it instead.
        stored, created = StripeEvent.objects.get_or_create(
            event_id=event["id"], defaults={"type": event["type"], "payload": event}
        )
        if not created:
            return None
        # Applied in the same transaction that stores the event: a crash half-way stores nothing, and
        # Stripe's retry of the event starts from a clean slate.
        if _event_apply(event):
            stored.processed_at = timezone.now()
            stored.save(update_fields=["processed_at"])
    return stored


def _verified_event(body: bytes, signature_header: str) -> dict[str, Any]:
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookRefused("Stripe webhooks are not configured on this site.", code="not_configured")
    try:
        # Any one of several v1 signatures may match: while a secret is rolled, Stripe signs with both.
        stripe.WebhookSignature.verify_header(
            body.decode("utf-8"), signature_header, secret, WEBHOOK_TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise WebhookRefused("The Stripe signature does not verify.", code="bad_signature") from error
    # stripe's verifier only refuses old timestamps; one from the future is refused here.
    if _signature_timestamp(signature_header) > time.time() + WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookRefused("The Stripe signature is dated in the future.", code="bad_signature")
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise WebhookRefused("The event is not JSON.", code="bad_event") from error
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    ):
        raise WebhookRefused("The event lacks an id, a type or its object.", code="bad_event")
    return event


def _signature_timestamp(signature_header: str) -> int:
    # Only called once the header has verified, so its `t=` item is known to be there and an integer.
    for item in signature_header.split(","):
        key, _, value = item.partition("=")
        if key == "t":
            return int(value)
    raise WebhookRefused("The Stripe signature has no timestamp.", code="bad_signature")


def _event_apply(event: Mapping[str, Any]) -> bool:
    """Apply an event to its order; False when it must wait for an order that does not know it yet."""
    handler = EVENT_HANDLERS.get(event["type"])
    if handler is None:
        return True
    return _refusals_logged(f"event {event['id']} ({event['type']})", handler, event["data"]["object"])


def _refusals_logged(
    subject: str, handler: Callable[[Mapping[str, Any]], bool], stripe_object: Mapping[str, Any]
) -> bool:
    try:
        return handler(stripe_object)
    except ValidationError as refusal:
        # A refusal by the order services (a wrong amount, a transition the order cannot make) is final:
        # asking again would get the same answer, so it is logged for a human and the event counts as handled.
        logger.error("Stripe %s refused: %s", subject, "; ".join(refusal.messages))
        return True


def _session_completed(session: Mapping[str, Any]) -> bool:
    # "unpaid" is an asynchronous payment method still under way: its own event follows.
    if session.get("payment_status") == "paid":
        _session_paid(session)
    return True


def _session_async_succeeded(session: Mapping[str, Any]) -> bool:
    _session_paid(session)
    return True


def _session_ended_unpaid(session: Mapping[str, Any]) -> bool:
    order = _order_of_session(session)
    if order is not None and order.status == Order.Status.PENDING:
        order_cancel(order=order, reason="The Stripe payment failed or the checkout expired.")
    return True


def _session_paid(session: Mapping[str, Any]) -> Order | None:
    """Mark the session's order paid (at the session's amount, which must be the order's) and fulfil it."""
    order = _order_of_session(session)
    if order is None:
        return None
    order = order_mark_paid(
        order=order,
        amount_cents=_integer(session.get("amount_total")),
        currency=str(session.get("currency") or ""),
        payment_intent=str(session.get("payment_intent") or ""),
    )
    try:
        order_fulfil(order=order)
    except SaleWithdrawn as withdrawn:
        order_refund_unsold(order=order, reason=" ".join(withdrawn.messages))
    except ValidationError as refusal:
        # Paid but not grantable (an exclusive tier someone else was granted first): the money has to go
        # back, which a human decides. The order stays paid so nothing retries it.
        logger.error("Paid order %s cannot be fulfilled: %s", order.public_id, "; ".join(refusal.messages))
    _reversals_apply(order)
    return order


def _order_of_session(session: Mapping[str, Any]) -> Order | None:
    session_id = str(session.get("id") or "")
    reference = _uuid_or_none(session.get("client_reference_id"))
    stripe_orders = Order.objects.filter(method=Order.Method.STRIPE)
    order = stripe_orders.filter(stripe_session_id=session_id).first() if session_id else None
    if order is None and reference is not None:
        # An order whose session id was never recorded (the process died just after creating the session).
        order = stripe_orders.filter(public_id=reference, stripe_session_id__isnull=True).first()
    if order is None:
        logger.warning("Stripe session %r (reference %s) matches no order", session_id, reference)
    return order


def _charge_reversed(charge_or_dispute: Mapping[str, Any]) -> bool:
    """A refund or dispute: applied to the order its payment intent paid, or kept until that order is paid."""
    payment_intent = str(charge_or_dispute.get("payment_intent") or "")
    order = Order.objects.filter(stripe_payment_intent=payment_intent).first() if payment_intent else None
    if order is None:
        logger.warning("Stripe payment intent %r matches no paid order yet; the event waits", payment_intent)
        return False
    _reversal_apply(order, charge_or_dispute)
    return True


def _reversal_apply(order: Order, charge_or_dispute: Mapping[str, Any]) -> None:
    if charge_or_dispute.get("object") == "dispute":
        if order.status != Order.Status.REFUNDED:
            order_dispute(
                order=order, reason=f"Payment disputed ({charge_or_dispute.get('reason') or 'no reason'})."
            )
    elif charge_or_dispute.get("refunded"):
        order_refund(order=order, reason="Payment refunded.")
    else:
        logger.warning(
            "Order %s was partly refunded (%s of %s); its license stays until a human decides",
            order.public_id,
            charge_or_dispute.get("amount_refunded"),
            charge_or_dispute.get("amount"),
        )


def _reversals_apply(order: Order) -> None:
    """Apply the refunds and disputes that arrived before the order's payment was recorded."""
    order.refresh_from_db(fields=["status", "stripe_payment_intent"])
    if not order.stripe_payment_intent or order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
        return
    waiting = (
        StripeEvent.objects.select_for_update()
        .filter(
            processed_at__isnull=True,
            type__in=CHARGE_REVERSAL_TYPES,
            payload__data__object__payment_intent=order.stripe_payment_intent,
        )
        .order_by("received_at", "pk")
    )
    for stored in waiting:
        _reversal_apply(order, stored.payload["data"]["object"])
        order.refresh_from_db(fields=["status"])
        stored.processed_at = timezone.now()
        stored.save(update_fields=["processed_at"])


EVENT_HANDLERS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_async_succeeded,
    "checkout.session.async_payment_failed": _session_ended_unpaid,
    "checkout.session.expired": _session_ended_unpaid,
    "charge.refunded": _charge_reversed,
    "charge.dispute.created": _charge_reversed,
}


def _integer(value: Any) -> int:
    # A missing amount must never equal an order's amount by accident: -1 matches no order.
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- Refunds ---------------------------------------------------------------------------------------------


def order_refund_send(*, order_id: int) -> str:
    """Ask Stripe to refund a paid order in full; the refund's id. Retried safely: Stripe answers a repeat of
    the same idempotency key with the refund it already made."""
    order = Order.objects.get(pk=order_id, method=Order.Method.STRIPE)
    refund = _client().v1.refunds.create(
        params={
            "payment_intent": order.stripe_payment_intent,
            "reason": "requested_by_customer",
            "metadata": {"order": str(order.public_id), "why": order.end_reason[:500]},
        },
        options={"idempotency_key": f"refund-{order.public_id}"},
    )
    logger.info("Refunded order %s: %s", order.public_id, refund.id)
    return str(refund.id)


# --- Reconciliation ---------------------------------------------------------------------------------------


def orders_reconcile() -> int:
    """Ask Stripe about Stripe orders still pending a while after checkout; the number fulfilled."""
    if not stripe_enabled():
        return 0
    now = timezone.now()
    pending = Order.objects.filter(
        method=Order.Method.STRIPE,
        status=Order.Status.PENDING,
        stripe_session_id__isnull=False,
        created_at__lt=now - timedelta(minutes=RECONCILE_AFTER_MINUTES),
        created_at__gte=now - timedelta(hours=RECONCILE_WITHIN_HOURS),
    ).values_list("pk", "stripe_session_id")
    fulfilled = 0
    for order_pk, session_id in pending:
        try:
            session = _session_retrieve(str(session_id))
        except stripe.StripeError:
            logger.warning("Could not retrieve Stripe session %s", session_id, exc_info=True)
            continue
        fulfilled += _order_reconcile(order_pk, session)
    _reversals_sweep()
    return fulfilled


@transaction.atomic
def _order_reconcile(order_pk: int, session: Mapping[str, Any]) -> int:
    subject = f"session {session.get('id')}"
    if session.get("payment_status") == "paid":
        _refusals_logged(subject, _session_completed, session)
    elif session.get("status") == "expired":
        _refusals_logged(subject, _session_ended_unpaid, session)
    return int(Order.objects.filter(pk=order_pk, status=Order.Status.FULFILLED).exists())


def _reversals_sweep() -> None:
    """Refunds and disputes still waiting whose order has been paid since (they raced its payment)."""
    intents = {
        stored.payload["data"]["object"].get("payment_intent")
        for stored in StripeEvent.objects.filter(
            processed_at__isnull=True,
            type__in=CHARGE_REVERSAL_TYPES,
            received_at__gte=timezone.now() - timedelta(hours=RECONCILE_WITHIN_HOURS),
        )
    }
    for order in Order.objects.filter(stripe_payment_intent__in=[intent for intent in intents if intent]):
        with transaction.atomic():
            _reversals_apply(order)
