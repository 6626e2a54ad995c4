"""Organizations: the people who share the licenses an organization holds, and the invitations that add them."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.transitions import transition
from marketplace.models import Invitation, Membership, Organization, User

# How long an invitation's link works.
INVITATION_LIFETIME = timedelta(days=7)


def _require_owner(organization: Organization, actor: User) -> None:
    if not Membership.objects.filter(
        organization=organization, user=actor, role=Membership.Role.OWNER
    ).exists():
        raise PermissionDenied("Only an owner of the organization changes who is in it.")


def _invitation_transition(invitation: Invitation, target: str) -> None:
    transition(invitation, target, subject="This invitation")
    invitation.ended_at = timezone.now()


@transaction.atomic
def invitation_send(*, organization: Organization, actor: User, email: str) -> Invitation:
    """Invite an address into the organization and email it the link; inviting it again renews the invitation.

    The same for every address: the owner is not told whether it has an account, a buyer's or any other.
    """
    from marketplace.tasks import email_send  # the task module imports these services

    _require_owner(organization, actor)
    email = User.objects.normalize_email(email).strip().lower()
    # One writer at a time per organization, so two invitations of one address make one pending row.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    now = timezone.now()
    invitation, _ = Invitation.objects.update_or_create(
        organization=organization,
        email=email,
        status=Invitation.Status.PENDING,
        defaults={"invited_by": actor, "sent_at": now, "expires_at": now + INVITATION_LIFETIME},
    )
    context = {
        "organization": organization,
        "inviter": actor.get_full_name(),
        "email": email,
        "url": settings.SITE_URL + reverse("invitation", args=[invitation.public_id]),
        "signup_url": settings.SITE_URL + reverse("signup") + "?role=buyer",
        "expires_at": invitation.expires_at,
        "site_name": settings.SITE_NAME,
    }
    email_send.delay_on_commit(
        subject=f"Join {organization.name} on {settings.SITE_NAME}",
        body=render_to_string("marketplace/email/invitation.txt", context),
        to=[email],
    )
    return invitation


@transaction.atomic
def invitation_cancel(*, organization: Organization, actor: User, public_id: uuid.UUID) -> Invitation:
    """Withdraw a pending invitation: its link stops working."""
    _require_owner(organization, actor)
    invitation = Invitation.objects.select_for_update().get(organization=organization, public_id=public_id)
    _invitation_transition(invitation, Invitation.Status.CANCELLED)
    invitation.save(update_fields=["status", "ended_at"])
    return invitation


def invitation_check(*, invitation: Invitation, user: User) -> None:
    """Raise why this account cannot accept this invitation now, if it cannot."""
    if invitation.email != user.email.lower():
        raise PermissionDenied(
            "This invitation is for another email address: log in with that one to accept it."
        )
    if invitation.status == Invitation.Status.ACCEPTED:
        raise ValidationError("This invitation was accepted already.", code="invalid_transition")
    if invitation.status == Invitation.Status.CANCELLED:
        raise ValidationError(
            "The organization's owner cancelled this invitation.", code="invalid_transition"
        )
    if invitation.is_expired:
        raise ValidationError(
            "This invitation expired: ask the organization's owner to send a new one.", code="expired"
        )
    if not user.is_buyer:
        raise PermissionDenied(
            "Only a buyer account joins an organization: sign up as a buyer with this email."
        )


@transaction.atomic
def invitation_accept(*, public_id: uuid.UUID, user: User) -> Membership:
    """The invited person, signed in with a buyer account of the invited address, joins the organization.

    Accepting again (a second click, a reload) returns the membership and changes nothing.
    """
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(public_id=public_id)
    )
    if invitation.status == Invitation.Status.ACCEPTED and invitation.accepted_by_id == user.pk:
        membership = Membership.objects.filter(organization=invitation.organization, user=user).first()
        if membership is not None:
            return membership
    invitation_check(invitation=invitation, user=user)
    _invitation_transition(invitation, Invitation.Status.ACCEPTED)
    invitation.accepted_by = user
    invitation.save(update_fields=["status", "ended_at", "accepted_by"])
    membership, _ = Membership.objects.get_or_create(organization=invitation.organization, user=user)
    return membership


@transaction.atomic
def membership_remove(*, organization: Organization, actor: User, user_id: int) -> None:
    """Take someone out of the organization (an owner, or anyone leaving); its last owner stays."""
    membership = (
        Membership.objects.select_for_update().filter(organization=organization, user_id=user_id).first()
    )
    if membership is None:
        raise ValidationError("That person is not a member.")
    if actor.pk != user_id:
        _require_owner(organization, actor)
    owners = Membership.objects.filter(organization=organization, role=Membership.Role.OWNER)
    if membership.role == Membership.Role.OWNER and owners.count() == 1:
        raise ValidationError("The organization's last owner cannot leave it.", code="conflict")
    membership.delete()
