"""Site-level tasks: outgoing email and housekeeping."""

import smtplib
from importlib import import_module

import stripe
from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from marketplace import payments
from marketplace.services import accounts, payouts, revocations


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def email_send(*, subject: str, body: str, to: list[str], html_body: str | None = None) -> None:
    """Send one email, rendered by the caller; retried with backoff while the mail server is unreachable."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html_body:
        message.attach_alternative(html_body, "text/html")
    message.send()


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def password_reset_send(*, email: str) -> None:
    """Find the accounts with this address and email each a reset link; the request only queued the address."""
    accounts.password_reset_send(email=email)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(stripe.StripeError, OSError),
    retry_backoff=True,
    retry_backoff_max=3600,
    max_retries=12,
)
def order_refund_send(order_id: int) -> str:
    # Idempotent: the same idempotency key every time, so a retry never refunds twice.
    return payments.order_refund_send(order_id=order_id)


@shared_task
def sessions_clear_expired() -> None:
    """Delete expired sessions, which the database session store never does by itself."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


@shared_task
def stripe_checkouts_reconcile() -> int:
    """Fulfil paid Stripe checkouts whose webhook never came, and cancel expired ones."""
    return payments.orders_reconcile()


@shared_task
def payouts_send() -> dict[str, int]:
    """Transfer creators what their sales earned; failed transfers are retried on the next run."""
    run = payouts.payouts_send()
    return {"retried": run.retried, "sent": run.sent, "failed": run.failed}


# --- Revocation notices ---
# Each of these may run twice, or be handed back when its worker dies: the services are idempotent, and a
# webhook delivery counts its attempts in its row, so a delivery that keeps killing workers stops.


@shared_task(
    acks_late=True, reject_on_worker_lost=True, autoretry_for=(OSError,), retry_backoff=5, max_retries=5
)
def revocation_notify(revocation_id: int) -> int:
    return len(revocations.revocation_notify(revocation_id=revocation_id))


@shared_task(
    acks_late=True, reject_on_worker_lost=True, autoretry_for=(OSError,), retry_backoff=5, max_retries=5
)
def upgrades_grant(version_id: int) -> int:
    return len(revocations.upgrades_grant(version_id=version_id))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def webhook_deliver(delivery_id: int) -> str | None:
    """One attempt; after a failure, the next is queued for when its backoff ends."""
    delivery = revocations.webhook_deliver(delivery_id=delivery_id)
    if delivery is None:
        return None
    if delivery.status == delivery.Status.PENDING:
        webhook_deliver.apply_async(
            args=[delivery_id], countdown=revocations.seconds_until(delivery.next_attempt_at)
        )
    return delivery.status


@shared_task
def revocations_catch_up() -> dict[str, int]:
    return revocations.revocations_catch_up()
