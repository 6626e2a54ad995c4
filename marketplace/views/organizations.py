"""The organizations a buyer belongs to: who is in each, and (for owners) inviting and removing people."""

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from marketplace import selectors
from marketplace.models import Invitation, Organization
from marketplace.services import organizations
from marketplace.views.signed_in import signed_in_user


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    memberships = selectors.memberships_of_user(user=signed_in_user(request))
    return render(request, "marketplace/organizations.html", {"memberships": memberships})


def _organization_of(request: HttpRequest, public_id: str) -> Organization:
    return get_object_or_404(Organization, public_id=public_id, memberships__user=signed_in_user(request))


def _report(request: HttpRequest, error: ValidationError | PermissionDenied) -> None:
    for message in getattr(error, "messages", None) or [str(error)]:
        messages.error(request, message)


@login_required
@require_POST
def invitation_send(request: HttpRequest, public_id: str) -> HttpResponse:
    organization = _organization_of(request, public_id)
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the email address of the person to invite.")
        return redirect("organization-list")
    try:
        invitation = organizations.invitation_send(
            organization=organization, actor=signed_in_user(request), email=form.cleaned_data["email"]
        )
    except (ValidationError, PermissionDenied) as error:
        _report(request, error)
    else:
        # The same words for every address: whether it has an account is for the email to tell its owner.
        messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("organization-list")


@login_required
@require_POST
def invitation_cancel(request: HttpRequest, public_id: str, invitation_id: uuid.UUID) -> HttpResponse:
    organization = _organization_of(request, public_id)
    try:
        invitation = organizations.invitation_cancel(
            organization=organization, actor=signed_in_user(request), public_id=invitation_id
        )
    except Invitation.DoesNotExist:
        raise Http404("No such invitation.") from None
    except (ValidationError, PermissionDenied) as error:
        _report(request, error)
    else:
        messages.success(
            request, f"The invitation of {invitation.email} is cancelled; its link no longer works."
        )
    return redirect("organization-list")


@login_required
def invitation(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The link of an invitation email: the invited buyer, signed in, accepts it here."""
    user = signed_in_user(request)
    found = selectors.invitation_by_public_id(public_id=public_id)
    if found is None:
        raise Http404("No such invitation.")
    if request.method == "POST":
        try:
            membership = organizations.invitation_accept(public_id=found.public_id, user=user)
        except ValidationError as error:
            return render(
                request, "marketplace/invitation.html", {"invitation": found, "error": error}, status=410
            )
        messages.success(
            request, f"You are in {membership.organization.name}: its licenses are yours to use."
        )
        return redirect("organization-list")
    if found.status == Invitation.Status.ACCEPTED and found.accepted_by_id == user.pk:
        return redirect("organization-list")
    try:
        organizations.invitation_check(invitation=found, user=user)
    except ValidationError as error:
        return render(
            request, "marketplace/invitation.html", {"invitation": found, "error": error}, status=410
        )
    return render(request, "marketplace/invitation.html", {"invitation": found})


@login_required
@require_POST
def member_remove(request: HttpRequest, public_id: str, user_id: int) -> HttpResponse:
    organization = _organization_of(request, public_id)
    try:
        organizations.membership_remove(
            organization=organization, actor=signed_in_user(request), user_id=user_id
        )
    except (ValidationError, PermissionDenied) as error:
        _report(request, error)
    else:
        messages.success(request, f"Removed from {organization.name}.")
    return redirect("organization-list" if user_id != request.user.pk else "account")
