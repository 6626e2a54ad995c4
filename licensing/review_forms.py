"""Forms of the reviewer pages: queue filters, decisions on releases and consents, takedowns, audit filters."""

from django import forms

from .models import Consent, Release

NOTE_WIDGET = forms.Textarea(attrs={"rows": 3})


class ReleaseQueueFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind", choices=[("", "Model and property releases"), *Release.Kind.choices], required=False
    )
    flagged_dates = forms.BooleanField(
        label="Only releases with photos taken outside the shoot dates", required=False
    )


class ConsentQueueFilterForm(forms.Form):
    with_faces = forms.BooleanField(label="Only assets with faces", required=False)
    with_duplicates = forms.BooleanField(label="Only assets flagged as duplicates", required=False)
    ai_generated = forms.BooleanField(label="Only assets declared AI-generated", required=False)


class ApproveForm(forms.Form):
    note = forms.CharField(
        label="Note to the creator (optional)", widget=NOTE_WIDGET, max_length=2000, required=False
    )


class ReleaseRejectForm(forms.Form):
    reason = forms.ChoiceField(
        label="Rejection reason",
        choices=[("", "Choose a reason…"), *Release.RejectionReason.choices],
        error_messages={"required": "Choose a reason for the rejection."},
    )
    note = forms.CharField(
        label="What the creator should fix",
        widget=NOTE_WIDGET,
        max_length=2000,
        required=False,
        help_text="Required when the reason is “another problem”.",
    )


class ConsentApproveForm(forms.Form):
    identifiable_people = forms.IntegerField(
        label="Identifiable people (0 if you checked and no one is)",
        min_value=0,
        max_value=1000,
        help_text="Count them yourself: the detectors' figure is a hint. Each person needs an approved model "
        "release before the asset can be sold.",
        error_messages={"required": "Say how many identifiable people the asset shows (0 if no one)."},
    )
    people_note = forms.CharField(
        label="Why fewer people than faces detected",
        widget=NOTE_WIDGET,
        max_length=2000,
        required=False,
        help_text="Only when you count fewer people than the detector found faces "
        "(a poster, a crowd far away, a face turned away).",
    )
    note = forms.CharField(
        label="Note to the creator (optional)", widget=NOTE_WIDGET, max_length=2000, required=False
    )


class ConsentRejectForm(ReleaseRejectForm):
    reason = forms.ChoiceField(
        label="Rejection reason",
        choices=[("", "Choose a reason…"), *Consent.RejectionReason.choices],
        error_messages={"required": "Choose a reason for the rejection."},
    )


class TakedownForm(forms.Form):
    reason = forms.CharField(
        label="Takedown reason",
        widget=NOTE_WIDGET,
        max_length=2000,
        help_text="Recorded in the audit log and sent to buyers who hold the asset.",
        error_messages={"required": "Say why the asset is taken down."},
    )
    next = forms.CharField(widget=forms.HiddenInput, required=False)


class AuditFilterForm(forms.Form):
    object_type = forms.CharField(
        label="Object type",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"list": "audit-object-types", "placeholder": "release, consent, …"}),
    )
    object_id = forms.CharField(label="Object id", max_length=64, required=False)
