"""Forms of the creator's licensing pages and of the page where a person signs a release."""

import base64
import binascii
import datetime
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from . import services
from .models import LicenseTerms, Permission, Release, SelfIdentification, Use

PNG_DATA_URL_PREFIX = "data:image/png;base64,"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Base64 grows bytes by a third; anything longer cannot decode to a signature the service would accept.
SIGNATURE_MAX_CHARS = len(PNG_DATA_URL_PREFIX) + (services.SIGNATURE_MAX_BYTES * 4) // 3 + 4
ERASE_WORD = "ERASE"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class AssetChoiceField(forms.MultipleChoiceField):
    """Assets picked by public id from a set the view decides (the creator's own, eligible ones)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(choices=[], **kwargs)
        self.error_messages["invalid_choice"] = (
            "Some of the chosen assets are not yours or cannot be chosen here."
        )
        self.error_messages["required"] = "Choose at least one photo or video."


def _set_asset_choices(form: forms.Form, public_ids: list[str]) -> None:
    cast(AssetChoiceField, form.fields["assets"]).choices = [(value, value) for value in public_ids]


# --- Releases --------------------------------------------------------------------------------------------


class ReleaseNewForm(forms.Form):
    """What a creator types for a new release. It only reads the values; the service judges them."""

    METHOD_CHOICES = [
        (Release.Method.ONLINE, "Online: I send the person a link; they read it and sign on their phone"),
        (Release.Method.PAPER, "Paper: it is already signed and I upload a scan"),
    ]

    kind = forms.ChoiceField(
        choices=Release.Kind.choices,
        widget=forms.RadioSelect,
        initial=Release.Kind.MODEL,
        label="What kind of release",
        help_text="A model release for one person; a property release for one property or artwork.",
    )
    method = forms.ChoiceField(
        choices=METHOD_CHOICES,
        widget=forms.RadioSelect,
        initial=Release.Method.ONLINE,
        label="How it is signed",
    )
    assets = AssetChoiceField(label="Photos and videos from the shoot")
    legal_name = forms.CharField(
        required=False,
        max_length=200,
        label="Full legal name",
        help_text="Of the person (model release) or of the property's owner (property release).",
    )
    email = forms.EmailField(
        required=False, label="Their email", help_text="Optional. Used to send the signing link."
    )
    property_description = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="The property or artwork",
        help_text="Property releases only: what and where it is.",
    )
    shoot_start = forms.DateField(
        widget=DateInput,
        label="First day of the shoot",
        error_messages={"required": "Give the first day of the shoot."},
    )
    shoot_end = forms.DateField(
        widget=DateInput,
        label="Last day of the shoot",
        error_messages={"required": "Give the last day of the shoot."},
    )

    # What a paper release already carries.
    signed_name = forms.CharField(required=False, max_length=200, label="Name as signed")
    signed_on = forms.DateField(required=False, widget=DateInput, label="Signed on")
    date_of_birth = forms.DateField(
        required=False, widget=DateInput, label="Date of birth", help_text="Model releases only."
    )
    address = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}), label="Postal address"
    )
    phone = forms.CharField(required=False, max_length=40, label="Phone")
    witness_name = forms.CharField(
        required=False,
        max_length=200,
        label="Witness's name",
        help_text="Someone other than the person and you.",
    )
    guardian_name = forms.CharField(
        required=False,
        max_length=200,
        label="Parent or guardian's name",
        help_text="Needed when the person was under 18 on the day they signed.",
    )
    biometric_consent = forms.BooleanField(
        required=False, label="The release includes the separate consent to use face geometry"
    )
    biometric_retention_until = forms.DateField(
        required=False,
        widget=DateInput,
        label="Face data may be kept until",
        help_text="As written on the release; at most three years after signing.",
    )
    scan = forms.FileField(
        required=False,
        label="Scan of the signed release",
        help_text="PDF, JPEG or PNG, up to 20 MB.",
        widget=forms.FileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )

    def __init__(self, *args: Any, asset_ids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_asset_choices(self, asset_ids)

    def subject(self) -> services.ReleaseSubject:
        data = self.cleaned_data
        return services.ReleaseSubject(
            kind=data["kind"],
            legal_name=data["legal_name"],
            email=data["email"],
            property_description=data["property_description"],
        )

    def paper_signer(self) -> services.Signer:
        data = self.cleaned_data
        return services.Signer(
            signed_name=data["signed_name"],
            date_of_birth=data["date_of_birth"],
            address=data["address"],
            email=data["email"],
            phone=data["phone"],
            signature_png=b"",
            witness_name=data["witness_name"],
            witness_signature_png=b"",
            guardian_name=data["guardian_name"],
            biometric_consent=data["biometric_consent"],
            biometric_retention_until=data["biometric_retention_until"],
        )


class ReleaseResubmitForm(forms.Form):
    scan = forms.FileField(
        required=False,
        label="New scan",
        help_text="PDF, JPEG or PNG, up to 20 MB. Leave empty to send the same scan back for review.",
        widget=forms.FileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )


class ReleaseRevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="What the person said",
        help_text="Kept with the release's record; buyers are told only that a release was revoked.",
    )
    confirm = forms.BooleanField(
        label="I understand: every photo and video this release covers stops being sold, now.",
        error_messages={"required": "Tick the box to confirm."},
    )


class ReleaseEraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="Erase the person's name, contact details, signatures and scan for good.",
        error_messages={"required": "Tick the box to confirm."},
    )


# --- Signing online ----------------------------------------------------------------------------------------


class SignatureField(forms.CharField):
    """A drawn signature, sent by the pad as a PNG data URL; cleaned to the PNG's bytes."""

    widget = forms.HiddenInput

    def __init__(self, *, label: str, **kwargs: Any) -> None:
        super().__init__(label=label, strip=True, max_length=SIGNATURE_MAX_CHARS, **kwargs)
        self.error_messages["required"] = f"Draw {label.lower()} in the box."
        self.error_messages["max_length"] = f"{label} image is too large; clear it and draw it again."

    def clean(self, value: Any) -> bytes:
        text = super().clean(value)
        if not text:
            return b""
        if not text.startswith(PNG_DATA_URL_PREFIX):
            raise ValidationError(f"{self.label} could not be read; draw it again.")
        try:
            png = base64.b64decode(text[len(PNG_DATA_URL_PREFIX) :], validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValidationError(f"{self.label} could not be read; draw it again.") from error
        if not png.startswith(PNG_MAGIC):
            raise ValidationError(f"{self.label} could not be read; draw it again.")
        return png


class SignForm(forms.Form):
    """What the person fills in; the service checks it against the release and decides who must sign."""

    AGE_CHOICES = [("", "Prefer not to say"), *SelfIdentification.AgeRange.choices]

    signed_name = forms.CharField(
        max_length=200,
        label="Your full name",
        help_text="Typed exactly as the release names you. It is part of your signature.",
        error_messages={"required": "Type your full name as your signature."},
    )
    date_of_birth = forms.DateField(widget=DateInput, label="Date of birth", required=False)
    address = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}), label="Postal address"
    )
    email = forms.EmailField(required=False, label="Email")
    phone = forms.CharField(required=False, max_length=40, label="Phone")
    signature = SignatureField(label="Your signature")
    guardian_name = forms.CharField(required=False, max_length=200, label="Parent or guardian's full name")
    guardian_signature = SignatureField(label="Parent or guardian's signature", required=False)
    witness_name = forms.CharField(
        max_length=200,
        label="Witness's full name",
        help_text="Someone who watched you sign: not you, and not the photographer.",
        error_messages={"required": "A witness must sign too."},
    )
    witness_signature = SignatureField(label="Witness's signature")
    biometric_consent = forms.BooleanField(
        required=False,
        label="I consent to the use of my face geometry for face recognition, until the date below.",
    )
    biometric_retention_until = forms.DateField(
        required=False,
        widget=DateInput,
        label="Keep my face data until",
        help_text="At most three years from today. After this date it is destroyed.",
    )
    age_range = forms.ChoiceField(choices=AGE_CHOICES, required=False, label="Age range")
    gender = forms.CharField(required=False, max_length=60, label="Gender, in your own words")
    ethnicity = forms.CharField(required=False, max_length=100, label="Ethnicity, in your own words")

    MODEL_ONLY = (
        "date_of_birth",
        "guardian_name",
        "guardian_signature",
        "biometric_consent",
        "biometric_retention_until",
        "age_range",
        "gender",
        "ethnicity",
    )

    def __init__(self, *args: Any, release: Release, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release = release
        if release.kind == Release.Kind.MODEL:
            self.fields["date_of_birth"].required = True
            self.fields["date_of_birth"].error_messages["required"] = "Give your date of birth."
            today = timezone.localdate()
            retention = self.fields["biometric_retention_until"].widget
            retention.attrs.update(
                min=(today + datetime.timedelta(days=1)).isoformat(),
                max=(today + datetime.timedelta(days=services.BIOMETRIC_RETENTION_MAX_DAYS)).isoformat(),
            )
        else:
            for name in self.MODEL_ONLY:
                del self.fields[name]
        self.fields["email"].initial = release.email

    def signer(self) -> services.Signer:
        data = self.cleaned_data
        return services.Signer(
            signed_name=data["signed_name"],
            date_of_birth=data.get("date_of_birth"),
            address=data["address"],
            email=data["email"],
            phone=data["phone"],
            signature_png=data["signature"],
            witness_name=data["witness_name"],
            witness_signature_png=data["witness_signature"],
            guardian_name=data.get("guardian_name", ""),
            guardian_signature_png=data.get("guardian_signature", b""),
            biometric_consent=data.get("biometric_consent", False),
            biometric_retention_until=data.get("biometric_retention_until"),
        )

    def self_description(self) -> services.SelfDescription | None:
        if self.release.kind != Release.Kind.MODEL:
            return None
        data = self.cleaned_data
        return services.SelfDescription(
            age_range=data["age_range"], gender=data["gender"], ethnicity=data["ethnicity"]
        )


# --- Consent ------------------------------------------------------------------------------------------------


def _in_sentence(label: str) -> str:
    """A label inside a sentence: "Data mining" becomes "data mining", "AI inference" stays as it is."""
    return label if label[:2].isupper() else label[0].lower() + label[1:]


class ConsentGiveForm(forms.Form):
    """One decision for every selected asset: a permission per CAWG use, and the license terms accepted."""

    assets = AssetChoiceField(widget=forms.MultipleHiddenInput)
    terms = forms.ModelMultipleChoiceField(
        queryset=LicenseTerms.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        label="License terms you accept",
        error_messages={"required": "Accept at least one set of license terms."},
    )
    property_release_required = forms.BooleanField(
        required=False,
        label="These show private property or artwork that needs a property release",
    )

    def __init__(self, *args: Any, asset_ids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_asset_choices(self, asset_ids)
        self.fields["assets"].error_messages["required"] = "Select at least one photo or video first."
        for use in Use:
            self.fields[use.value] = forms.ChoiceField(
                choices=Permission.choices,
                widget=forms.RadioSelect,
                label=use.label,
                error_messages={"required": f"Say whether {_in_sentence(use.label)} is allowed."},
            )
            self.fields[f"{use.value}_constraint"] = forms.CharField(
                required=False,
                max_length=500,
                label=f"{use.label}: the constraint, in words",
                widget=forms.TextInput(attrs={"placeholder": "e.g. only for research that is not published"}),
            )

    def clean(self) -> dict[str, Any]:
        data = self.cleaned_data
        for use in Use.values:
            if data.get(use) == Permission.CONSTRAINED and not data.get(f"{use}_constraint"):
                self.add_error(f"{use}_constraint", "Describe the constraint in words.")
        return data

    def use_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[use], self[f"{use}_constraint"]) for use in Use.values]

    def permissions(self) -> dict[str, services.UsePermission]:
        data = self.cleaned_data
        return {
            use: services.UsePermission(permission=data[use], constraint=data[f"{use}_constraint"])
            for use in Use.values
        }


class ConsentWithdrawForm(forms.Form):
    assets = AssetChoiceField(widget=forms.MultipleHiddenInput)
    reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Reason (optional)",
        help_text="Kept in the record; buyers are told only that consent was withdrawn.",
    )

    def __init__(self, *args: Any, asset_ids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_asset_choices(self, asset_ids)
        self.fields["assets"].error_messages["required"] = "Select at least one photo or video first."


class AssetsEraseForm(forms.Form):
    assets = AssetChoiceField(widget=forms.MultipleHiddenInput)
    confirm = forms.CharField(
        max_length=10,
        label=f"Type {ERASE_WORD} to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, asset_ids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_asset_choices(self, asset_ids)
        self.fields["assets"].error_messages["required"] = "Select at least one photo or video first."

    def clean_confirm(self) -> str:
        value = str(self.cleaned_data["confirm"]).strip()
        if value != ERASE_WORD:
            raise ValidationError(f"Type {ERASE_WORD} in capitals to confirm the erasure.")
        return value
