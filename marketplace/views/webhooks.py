"""Webhook endpoints on the site: add one (its secret is shown once), pause, resume or delete it, and read
its delivery log."""

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.forms import add_service_errors
from marketplace import selectors
from marketplace.models import Membership, Organization, User, WebhookEndpoint
from marketplace.services import revocations
from marketplace.views.signed_in import signed_in_user

NEW_SECRET_SESSION_KEY = "new_webhook_secret"  # noqa: S105 - a session key's name


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="https:// (plain http only to localhost). Each revocation notice is POSTed here as JSON.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/datamarket"}),
    )
    organization = forms.ChoiceField(label="For the licenses of")

    def __init__(self, *args: object, owned: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        cast(forms.ChoiceField, self.fields["organization"]).choices = owned
        if len(owned) <= 1:
            self.fields["organization"].required = False
            self.fields["organization"].widget = forms.HiddenInput()


def _owned_organizations(user: User) -> list[tuple[str, str]]:
    return [
        (str(public_id), name)
        for public_id, name in Membership.objects.filter(user=user, role=Membership.Role.OWNER)
        .order_by("-is_default", "organization__name")
        .values_list("organization__public_id", "organization__name")
    ]


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    owned = _owned_organizations(user)
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None, owned=owned)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data.get("organization")
        # None: the buyer's own organization, made now if this comes before their first purchase.
        organization = (
            Organization.objects.filter(public_id=chosen, memberships__user=user).first() if chosen else None
        )
        try:
            endpoint = revocations.webhook_endpoint_create(
                actor=user, url=form.cleaned_data["url"], organization=organization
            )
        except (ValidationError, PermissionDenied) as error:
            if isinstance(error, PermissionDenied):
                error = ValidationError(str(error))
            add_service_errors(form, error)
        else:
            # Shown once, on the page the redirect lands on; only the organization's code keeps it after.
            request.session[NEW_SECRET_SESSION_KEY] = {
                "id": str(endpoint.public_id),
                "secret": endpoint.secret,
            }
            return redirect("webhook-list")
    context = {
        "form": form,
        "endpoints": selectors.webhook_endpoints_of_member(user=user),
        "owned": {public_id for public_id, _ in owned},
        "new_secret": request.session.pop(NEW_SECRET_SESSION_KEY, None),
        "can_add": bool(owned) or user.is_buyer,
    }
    return render(request, "marketplace/webhooks.html", context, status=400 if form.errors else 200)


def _endpoint_of(request: HttpRequest, public_id: str) -> WebhookEndpoint:
    endpoint = selectors.webhook_endpoint_of_member(user=signed_in_user(request), public_id=public_id)
    if endpoint is None:
        raise Http404("No webhook endpoint of yours has this id.")
    return endpoint


@login_required
def webhook_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint_of(request, public_id)
    context = {
        "endpoint": endpoint,
        "deliveries": selectors.webhook_deliveries_of_endpoint(endpoint=endpoint),
        "is_owner": endpoint.organization.memberships.filter(
            user=signed_in_user(request), role=Membership.Role.OWNER
        ).exists(),
    }
    return render(request, "marketplace/webhook_detail.html", context)


@login_required
@require_POST
def webhook_set_active(request: HttpRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint_of(request, public_id)
    active = request.POST.get("active") == "1"
    try:
        revocations.webhook_endpoint_set_active(
            endpoint=endpoint, actor=signed_in_user(request), active=active
        )
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{endpoint.url} is {'active again' if active else 'paused'}.")
    return redirect("webhook-detail", public_id=endpoint.public_id)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    endpoint = _endpoint_of(request, public_id)
    try:
        revocations.webhook_endpoint_delete(endpoint=endpoint, actor=signed_in_user(request))
    except PermissionDenied as error:
        messages.error(request, str(error))
        return redirect("webhook-detail", public_id=endpoint.public_id)
    messages.success(request, f"{endpoint.url} no longer receives notices.")
    return redirect("webhook-list")
