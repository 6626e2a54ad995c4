"""Organizations: the people who share the licenses an organization holds."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from marketplace.models import Membership, Organization, User


def _require_owner(organization: Organization, actor: User) -> None:
    if not Membership.objects.filter(
        organization=organization, user=actor, role=Membership.Role.OWNER
    ).exists():
        raise PermissionDenied("Only an owner of the organization changes who is in it.")


@transaction.atomic
def organization_rename(*, organization: Organization, actor: User, name: str) -> Organization:
    _require_owner(organization, actor)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the organization a name: licenses are granted to it."})
    organization.name = name[:200]
    organization.save(update_fields=["name"])
    return organization


@transaction.atomic
def membership_add(*, organization: Organization, actor: User, email: str) -> Membership:
    """Add a buyer to the organization; from now on they see and download its licenses."""
    _require_owner(organization, actor)
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.is_buyer:
        raise ValidationError({"email": "No buyer account has this email; they sign up as a buyer first."})
    membership, created = Membership.objects.get_or_create(organization=organization, user=user)
    if not created:
        raise ValidationError({"email": f"{user.email} is already a member."})
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
