"""Receivers of the lower apps' signals: each only renders what it needs and enqueues a task."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string

from .tasks import email_send


def review_decision_email(
    *, creator_user_id: int, subject: str, approved: bool, reason: str, note: str, path: str, **_: Any
) -> None:
    """Tell a creator what the reviewer decided; sent after the decision committed."""
    creator = get_user_model().objects.filter(pk=creator_user_id).only("email").first()
    if creator is None:
        return
    context = {
        "subject": subject,
        "approved": approved,
        "reason": reason,
        "note": note,
        "url": f"{settings.SITE_URL}{path}",
        "site_name": settings.SITE_NAME,
    }
    verdict = "approved" if approved else "needs changes"
    email_send.delay(
        subject=f"{subject}: {verdict}",
        body=render_to_string("marketplace/email/review_decision.txt", context),
        to=[creator.email],
    )
