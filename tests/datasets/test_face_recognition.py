"""Datasets sold for face recognition: curated to people with a live biometric consent, found in the catalog."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from datasets.models import Dataset
from datasets.selectors import dataset_selection
from licensing.services import releases_biometric_end_due
from tests.datasets.test_catalog import API, catalog_dataset
from tests.factories import ConsentFactory, MediaAssetFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

CURATED = {
    "title": "Faces",
    "slug": "faces",
    "description": "Portraits of people who consented to face recognition.",
    "media_type": "image",
    "required_uses": ["ai_training"],
}


def portrait(*, biometric_days: int | None) -> object:
    """A sellable photo of one person with an approved model release; with a biometric consent kept
    `biometric_days` from today, or none."""
    asset = MediaAssetFactory(face_count=1)
    ConsentFactory(asset=asset)
    biometric = (
        {}
        if biometric_days is None
        else {
            "biometric_consent": True,
            "biometric_retention_until": timezone.localdate() + datetime.timedelta(days=biometric_days),
        }
    )
    ReleaseFactory(creator=asset.creator, assets=[asset], **biometric)
    return asset


# --- Curation -----------------------------------------------------------------------------------------------


def test_a_reviewer_curates_a_dataset_for_face_recognition(client, reviewer):
    consented = portrait(biometric_days=100)
    portrait(biometric_days=None)
    client.force_login(reviewer)

    response = client.post("/curation/new/", {**CURATED, "face_recognition": "on"}, follow=True)

    dataset = Dataset.objects.get()
    assert dataset.face_recognition is True
    assert b"<strong>1</strong> sellable item:" in response.content
    assert dataset_selection(dataset=dataset) == [consented]


def test_the_flag_is_shown_ticked_and_unticking_it_widens_the_selection(client, reviewer):
    portrait(biometric_days=100)
    portrait(biometric_days=None)
    client.force_login(reviewer)
    client.post("/curation/new/", {**CURATED, "face_recognition": "on"})

    page = client.get("/curation/faces/").content.decode()
    assert 'name="face_recognition"' in page and "checked" in page.split('name="face_recognition"')[1][:40]
    response = client.post("/curation/faces/", CURATED, follow=True)

    assert Dataset.objects.get().face_recognition is False
    assert b"<strong>2</strong> sellable items" in response.content


def test_when_a_biometric_consent_ends_the_asset_leaves_face_recognition_selections_only():
    asset = portrait(biometric_days=10)
    faces = Dataset.objects.create(slug="faces", title="Faces", description=".", face_recognition=True)
    people = Dataset.objects.create(slug="people", title="People", description=".")
    assert dataset_selection(dataset=faces) == [asset] == dataset_selection(dataset=people)

    asset.releases.update(biometric_retention_until=timezone.localdate() - datetime.timedelta(days=1))
    releases_biometric_end_due()

    assert dataset_selection(dataset=faces) == []
    assert dataset_selection(dataset=people) == [asset]


# --- The catalog ----------------------------------------------------------------------------------------------


def test_buyers_filter_the_catalog_to_face_recognition_datasets(client):
    faces = catalog_dataset("Faces", face_recognition=True)
    streets = catalog_dataset("Streets")

    every = client.get(API).json()["results"]
    only = client.get(API, {"face_recognition": "true"}).json()["results"]

    assert {row["slug"]: row["face_recognition"] for row in every} == {faces.slug: True, streets.slug: False}
    assert [row["slug"] for row in only] == [faces.slug]
    assert client.get(f"{API}{faces.slug}/").json()["face_recognition"] is True


def test_the_catalog_page_filters_to_face_recognition_datasets(client):
    catalog_dataset("Faces", face_recognition=True)
    catalog_dataset("Streets")

    unfiltered = client.get(reverse("datasets:catalog")).content.decode()
    filtered = client.get(reverse("datasets:catalog"), {"face_recognition": "true"}).content.decode()

    assert "Streets" in unfiltered and "For face recognition" in unfiltered
    assert "Faces" in filtered and "Streets" not in filtered
    assert 'name="face_recognition" value="true" checked' in filtered


def test_a_cursor_of_the_unfiltered_catalog_is_refused_with_the_filter(client):
    for number in range(3):
        catalog_dataset(f"Faces {number}", face_recognition=True)
    cursor = client.get(API, {"page_size": 1}).json()["next_cursor"]

    response = client.get(API, {"page_size": 1, "cursor": cursor, "face_recognition": "true"})

    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["fields"]
