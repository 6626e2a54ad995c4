"""Site-level tasks: outgoing email and housekeeping."""

import smtplib
from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from marketplace import payments


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


@shared_task
def sessions_clear_expired() -> None:
    """Delete expired sessions, which the database session store never does by itself."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


@shared_task
def stripe_checkouts_reconcile() -> int:
    """Fulfil paid Stripe checkouts whose webhook never came, and cancel expired ones."""
    return payments.orders_reconcile()
