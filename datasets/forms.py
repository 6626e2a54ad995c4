"""Forms of the curation pages."""

from typing import Any

from django import forms

from creators.models import MediaAsset
from licensing.models import LicenseTerms, Use

from .models import Dataset


class DatasetForm(forms.ModelForm):
    """A dataset's description and its saved selection; every filter left empty means no restriction."""

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
    license_terms = forms.ModelMultipleChoiceField(
        label="License tiers it is offered under",
        queryset=LicenseTerms.objects.all(),
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
            "license_terms",
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
            "exclude_near_duplicates": "Leave out near-duplicates, keeping the larger and sharper one",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "intended_uses": forms.Textarea(attrs={"rows": 3}),
            "category": forms.Select(choices=[("", "Mixed"), *MediaAsset.Category.choices]),
        }

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tags"] = ", ".join(self.instance.tags)

    def clean_tags(self) -> list[str]:
        return sorted({tag.strip().lower() for tag in self.cleaned_data["tags"].split(",") if tag.strip()})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("exposure_min"), cleaned.get("exposure_max")
        if low is not None and high is not None and low > high:
            self.add_error("exposure_max", "The upper brightness bound is below the lower one.")
        return cleaned

    def selection_values(self) -> dict:  # type: ignore[type-arg]
        """The cleaned fields as the dataset stores them (license tiers apart: they are a relation)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "license_terms"}
