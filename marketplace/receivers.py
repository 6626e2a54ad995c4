"""Receivers of the lower apps' signals: each only renders what it needs and enqueues a task."""

import datetime
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string

from .tasks import email_send, revocation_notify, upgrades_grant

logger = logging.getLogger(__name__)


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
    # Through the outbox: no sweep would find this email again if the broker were down now.
    email_send.delay_on_commit(
        subject=f"{subject}: {verdict}",
        body=render_to_string("marketplace/email/review_decision.txt", context),
        to=[creator.email],
    )


def biometric_retention_email(
    *,
    creator_user_id: int,
    person_email: str,
    person_name: str,
    retention_until: datetime.date,
    ended: bool,
    path: str,
    **_: Any,
) -> None:
    """Tell the creator, and the person when the release has their email, that a biometric consent's retention
    ends (or has ended); each gets an email of their own, so neither learns the other's address."""
    context = {
        "person_name": person_name,
        "retention_until": retention_until,
        "ended": ended,
        "url": f"{settings.SITE_URL}{path}",
        "site_name": settings.SITE_NAME,
    }
    subject = "Face data consent " + (
        "ended" if ended else f"ends on {retention_until.day} {retention_until:%B %Y}"
    )
    creator = get_user_model().objects.filter(pk=creator_user_id).only("email").first()
    if creator is not None:
        email_send.delay_on_commit(
            subject=f"{subject}: {person_name}",
            body=render_to_string("marketplace/email/biometric_retention_creator.txt", context),
            to=[creator.email],
        )
    if person_email:
        email_send.delay_on_commit(
            subject=subject,
            body=render_to_string("marketplace/email/biometric_retention_person.txt", context),
            to=[person_email],
        )


def revocation_notify_queue(*, revocation_id: int, **_: Any) -> None:
    """Samples of a version were revoked: its licensees are to be told."""
    try:
        revocation_notify.delay(revocation_id)
    except Exception:
        # The revocation has committed and must not fail now; the periodic catch-up notifies its licensees.
        logger.exception("Could not queue the notices of revocation %s", revocation_id)


def upgrades_grant_queue(*, version_id: int, **_: Any) -> None:
    """A version was published: licensees whose samples it replaces get it at no charge."""
    try:
        upgrades_grant.delay(version_id)
    except Exception:
        # The version is published whatever happens here; the periodic catch-up gives the upgrades.
        logger.exception("Could not queue the free upgrades to version %s", version_id)
