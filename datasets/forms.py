"""Forms of the curation pages."""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from creators.models import MediaAsset
from licensing.models import LicenseTerms, Use

from .models import Dataset
from .services import MAX_PRICE_CENTS, MIN_PRICE_CENTS


def dollars(cents: int) -> str:
    """Cents as the price field shows them: "250.00"."""
    return f"{Decimal(cents) / 100:.2f}"


def price_in_cents(text: str) -> int:
    """A price typed in dollars ("250", "250.5", "1,250.00") as integer cents, or a ValidationError."""
    try:
        amount = Decimal(text.strip().replace(",", "").removeprefix("$"))
    except InvalidOperation:
        raise ValidationError("Enter a price in dollars, such as 250.00.", code="invalid") from None
    if not amount.is_finite():
        raise ValidationError("Enter a price in dollars, such as 250.00.", code="invalid")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError("A price has at most two decimals (cents).", code="max_decimal_places")
    cents = int(amount * 100)
    if cents < MIN_PRICE_CENTS:
        raise ValidationError(f"The lowest price is ${dollars(MIN_PRICE_CENTS)}.", code="min_value")
    if cents > MAX_PRICE_CENTS:
        raise ValidationError(f"The highest price is ${dollars(MAX_PRICE_CENTS)}.", code="max_value")
    return cents


class DatasetForm(forms.ModelForm):
    """A dataset's description, its saved selection and its priced license tiers.

    Every selection filter left empty means no restriction. Each license tier gets a row of two fields,
    "offer_<slug>" (a checkbox) and "price_<slug>" (dollars), built from the tiers that exist.
    """

    categories = forms.MultipleChoiceField(
        label="Categories",
        choices=MediaAsset.Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    tags = forms.CharField(label="Tags (any of them; separate with commas)", required=False, max_length=1000)
    required_uses = forms.MultipleChoiceField(
        label="Uses every item's consent must allow",
        choices=Use.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Dataset
        fields = [
            "title",
            "slug",
            "description",
            "category",
            "intended_uses",
            "media_type",
            "categories",
            "tags",
            "min_width",
            "min_height",
            "min_sharpness",
            "exposure_min",
            "exposure_max",
            "required_uses",
            "face_recognition",
            "exclude_near_duplicates",
        ]
        labels = {
            "slug": "Short name (in the bundle's file names)",
            "category": "Main category",
            "media_type": "Media",
            "min_width": "Minimum width (pixels)",
            "min_height": "Minimum height (pixels)",
            "min_sharpness": "Minimum sharpness (variance of the Laplacian)",
            "exposure_min": "Mean brightness at least (0-1)",
            "exposure_max": "Mean brightness at most (0-1)",
            "face_recognition": "Sold for face recognition: only people who gave a biometric consent, within its "
            "retention",
            "exclude_near_duplicates": "Leave out near-duplicates, keeping the larger and sharper one",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "intended_uses": forms.Textarea(attrs={"rows": 3}),
            "category": forms.Select(choices=[("", "Mixed"), *MediaAsset.Category.choices]),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tags"] = ", ".join(self.instance.tags)
        prices = dict(self.instance.offers.values_list("terms_id", "price_cents")) if self.instance.pk else {}
        self.tiers = list(LicenseTerms.objects.all())
        for terms in self.tiers:
            self.fields[f"offer_{terms.slug}"] = forms.BooleanField(
                label=f"Offer under {terms.name}", required=False, initial=terms.pk in prices
            )
            self.fields[f"price_{terms.slug}"] = forms.CharField(
                label=f"Price under {terms.name} (US$)",
                required=False,
                max_length=20,
                initial=dollars(prices[terms.pk]) if terms.pk in prices else "",
                widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "250.00"}),
            )

    def selection_fields(self) -> list[forms.BoundField]:
        """The description and selection fields, without the tiers' rows (the page lays those out apart)."""
        return [field for field in self.visible_fields() if not field.name.startswith(("offer_", "price_"))]

    def offer_rows(self) -> list[tuple[LicenseTerms, forms.BoundField, forms.BoundField]]:
        return [(terms, self[f"offer_{terms.slug}"], self[f"price_{terms.slug}"]) for terms in self.tiers]

    def clean_tags(self) -> list[str]:
        return sorted({tag.strip().lower() for tag in self.cleaned_data["tags"].split(",") if tag.strip()})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("exposure_min"), cleaned.get("exposure_max")
        if low is not None and high is not None and low > high:
            self.add_error("exposure_max", "The upper brightness bound is below the lower one.")
        self._offers: dict[LicenseTerms, int] = {}
        for terms in self.tiers:
            price_field = f"price_{terms.slug}"
            price = cleaned.get(price_field, "")
            # A price typed for a tier not offered is ignored: unticking a tier is how it is taken off sale.
            if not cleaned.get(f"offer_{terms.slug}"):
                continue
            if not price:
                self.add_error(price_field, f"Set the price of {terms.name}, or untick it.")
                continue
            try:
                self._offers[terms] = price_in_cents(price)
            except ValidationError as error:
                self.add_error(price_field, error)
        return cleaned

    def selection_values(self) -> dict[str, Any]:
        """The cleaned fields as the dataset stores them (the priced tiers apart: they are a relation)."""
        return {name: value for name, value in self.cleaned_data.items() if name in self.Meta.fields}

    def offers(self) -> Mapping[LicenseTerms, int]:
        """The tiers ticked, each with its price in cents, as dataset_save takes them."""
        return self._offers


class VersionBuildForm(forms.Form):
    change_note = forms.CharField(
        label="What changed since the last version (optional; buyers read it)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class VersionWithdrawForm(forms.Form):
    reason = forms.CharField(
        label="Why it is withdrawn (its buyers are told)",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the version is withdrawn: its buyers are told."},
    )


class VisibilityForm(forms.Form):
    public = forms.BooleanField(required=False)
