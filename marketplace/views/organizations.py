"""The organizations a buyer belongs to: who is in each, and (for owners) adding and removing people."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from marketplace.models import Membership, Organization
from marketplace.services import organizations
from marketplace.views.signed_in import signed_in_user


class MemberAddForm(forms.Form):
    email = forms.EmailField(label="Buyer's email", max_length=254)


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=signed_in_user(request))
        .select_related("organization")
        .prefetch_related("organization__memberships__user")
        .order_by("-is_default", "organization__name")
    )
    return render(
        request, "marketplace/organizations.html", {"memberships": memberships, "add_form": MemberAddForm()}
    )


def _organization_of(request: HttpRequest, public_id: str) -> Organization:
    return get_object_or_404(Organization, public_id=public_id, memberships__user=signed_in_user(request))


def _report(request: HttpRequest, error: ValidationError | PermissionDenied) -> None:
    for message in getattr(error, "messages", None) or [str(error)]:
        messages.error(request, message)


@login_required
@require_POST
def member_add(request: HttpRequest, public_id: str) -> HttpResponse:
    organization = _organization_of(request, public_id)
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the email address of a buyer account.")
        return redirect("organization-list")
    try:
        membership = organizations.membership_add(
            organization=organization, actor=signed_in_user(request), email=form.cleaned_data["email"]
        )
    except (ValidationError, PermissionDenied) as error:
        _report(request, error)
    else:
        messages.success(request, f"{membership.user.email} now shares {organization.name}'s licenses.")
    return redirect("organization-list")


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
