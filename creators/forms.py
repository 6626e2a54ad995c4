from typing import cast

from django import forms

from .models import MediaAsset


class TagsField(forms.CharField):
    """Tags typed as one comma-separated line."""

    def to_python(self, value):
        text = super().to_python(value)
        return [part for part in text.split(",") if part.strip()]

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value


class AssetEditForm(forms.Form):
    title = forms.CharField(max_length=200, required=False)
    caption = forms.CharField(
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the photo or video shows, in a sentence or two. Buyers train on it.",
    )
    category = forms.ChoiceField(choices=MediaAsset.Category.choices)
    tags = TagsField(
        required=False, max_length=2000, help_text="Separated by commas, e.g. street, night, rain."
    )


class AssetFilterForm(forms.Form):
    STATUS_CHOICES = [("", "Any status"), *MediaAsset.Status.choices]
    KIND_CHOICES = [("", "Photos and videos"), *MediaAsset.Kind.choices]
    CATEGORY_CHOICES = [("", "Any category"), *MediaAsset.Category.choices]

    search = forms.CharField(required=False, max_length=100, label="Search title, caption or tag")
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    kind = forms.ChoiceField(choices=KIND_CHOICES, required=False, label="Type")
    category = forms.ChoiceField(choices=CATEGORY_CHOICES, required=False)
    flagged = forms.BooleanField(required=False, label="Only flagged (duplicates, AI-generated, rejected)")


class BulkEditForm(forms.Form):
    CATEGORY_CHOICES = [("", "Keep each category"), *MediaAsset.Category.choices]

    ids = forms.TypedMultipleChoiceField(
        coerce=str, choices=[]
    )  # choices: the creator's assets, set per request
    category = forms.ChoiceField(choices=CATEGORY_CHOICES, required=False, label="Set category")
    add_tags = TagsField(required=False, max_length=2000, label="Add tags")
    remove_tags = TagsField(required=False, max_length=2000, label="Remove tags")

    def __init__(self, *args, asset_ids: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        ids = cast(forms.TypedMultipleChoiceField, self.fields["ids"])
        ids.choices = [(value, value) for value in asset_ids]
        ids.error_messages["invalid_choice"] = "Some of the selected items are not yours."
        ids.error_messages["required"] = "Select at least one photo or video first."


class MetadataImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: id or file, then any of title, caption, tags, category. UTF-8, first row the column names.",
    )
