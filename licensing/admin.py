"""Django admin for staff: everything readable, every change through the services (and so the audit log)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from core.actor import signed_in_actor

from . import services
from .models import AuditEvent, Consent, LicenseTerms, LicenseTermsVersion, Release

TAKEDOWN_REASON = "Taken down by a reviewer in the staff admin."
REVOKE_REASON = "Revoked by a reviewer in the staff admin."


def _each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    items: QuerySet[Any],
    act: Callable[[Any], object],
    done: str,
) -> None:
    """Run a service on each selected row; tell what worked and why the rest did not."""
    succeeded = 0
    for item in items:
        try:
            act(item)
        except (ValidationError, PermissionDenied) as error:
            text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            modeladmin.message_user(request, f"{item}: {text}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        modeladmin.message_user(request, f"{succeeded} {done}.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the services: staff read them here and act through the actions."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("sequence", "occurred_at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "actor_label", "action")
    ordering = ("-sequence",)
    actions = None


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "kind", "legal_name", "creator", "status", "method", "submitted_at")
    list_filter = ("status", "kind", "method")
    search_fields = ("public_id", "legal_name", "creator__display_name")
    # The signatures and scan are private files, shown to reviewers on the review page, not by URL here.
    exclude = ("assets", "signature", "witness_signature", "guardian_signature", "scan")
    actions = ("approve", "revoke")

    def view_on_site(self, obj: Release) -> str:
        return reverse("licensing:review-release", kwargs={"public_id": obj.public_id})

    @admin.action(description="Approve the selected releases")
    def approve(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        _each(
            self,
            request,
            queryset,
            lambda release: services.release_approve(release=release, reviewer=signed_in_actor(request)),
            "release(s) approved",
        )

    @admin.action(description="Revoke the selected releases (their assets stop being sold)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        _each(
            self,
            request,
            queryset,
            lambda release: services.release_revoke(
                release=release, actor=signed_in_actor(request), reason=REVOKE_REASON
            ),
            "release(s) revoked",
        )


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "asset", "status", "given_at", "reviewed_at", "withdrawn_at")
    list_filter = ("status", "property_release_required")
    search_fields = ("public_id", "asset__public_id", "asset__title")
    # No bulk approval: each consent needs a reviewer's own count of the people it shows (on its review page).
    actions = ("take_down",)

    def view_on_site(self, obj: Consent) -> str:
        return reverse("licensing:review-consent", kwargs={"public_id": obj.public_id})

    @admin.action(description="Take down: withdraw the selected consents")
    def take_down(self, request: HttpRequest, queryset: QuerySet[Consent]) -> None:
        try:
            withdrawn = services.consents_withdraw(
                asset_ids=queryset.values_list("asset_id", flat=True),
                actor=signed_in_actor(request),
                reason=TAKEDOWN_REASON,
            )
        except (ValidationError, PermissionDenied) as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, f"{withdrawn} consent(s) withdrawn.", messages.SUCCESS)


class LicenseTermsVersionInline(admin.TabularInline):
    model = LicenseTermsVersion
    fields = ("version", "text_sha256", "published_at", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LicenseTermsForm(forms.ModelForm):
    new_version_text = forms.CharField(
        label="Publish a new version",
        widget=forms.Textarea(attrs={"rows": 12}),
        required=False,
        help_text="The full text of the next version. Earlier versions stay as they are; grants keep theirs.",
    )

    class Meta:
        model = LicenseTerms
        fields = ("name", "summary", "position")


@admin.register(LicenseTerms)
class LicenseTermsAdmin(admin.ModelAdmin):
    form = LicenseTermsForm
    list_display = ("slug", "name", "commercial", "likeness_generation", "position")
    # What a buyer may do under the terms is part of their identity: a change is a new family, not an edit.
    readonly_fields = ("slug", "commercial", "likeness_generation", "uses")
    fields = (
        "slug",
        "name",
        "summary",
        "commercial",
        "likeness_generation",
        "uses",
        "position",
        "new_version_text",
    )
    inlines = (LicenseTermsVersionInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: LicenseTerms, form: forms.ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        text = form.cleaned_data.get("new_version_text", "")
        if text.strip():
            version = services.license_terms_version_publish(
                terms=obj, text=text, actor=signed_in_actor(request)
            )
            self.message_user(request, f"Version {version.version} of {obj} is published.", messages.SUCCESS)
