"""One set of release rules: the creator's page and the API send the same release to the same service checks."""

import datetime
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from licensing.models import AuditEvent, Release
from tests.factories import MediaAssetFactory

pytestmark = pytest.mark.django_db

SIGNED_ON = datetime.date(2026, 5, 3)


def _scan() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 300), "white").save(buffer, "PNG")
    return SimpleUploadedFile("release.png", buffer.getvalue(), content_type="image/png")


def _model_release(**changes: str) -> dict[str, str]:
    """A signed paper model release that passes every rule, as both the page and the API take it."""
    return {
        "kind": "model",
        "method": "paper",
        "legal_name": "Maria Model",
        "email": "maria@example.com",
        "shoot_start": "2026-05-01",
        "shoot_end": "2026-05-03",
        "signed_name": "Maria Model",
        "signed_on": SIGNED_ON.isoformat(),
        "date_of_birth": "1990-04-01",
        "address": "1 Rua Augusta, Lisboa",
        "witness_name": "Wendy Witness",
        **changes,
    }


def _property_release(**changes: str) -> dict[str, str]:
    release = _model_release(
        kind="property",
        legal_name="Olga Owner",
        signed_name="Olga Owner",
        property_description="The blue house",
    )
    del release["date_of_birth"]
    return release | changes


BAD_RELEASES = {
    "property release with biometric consent": (
        _property_release(biometric_consent="on", biometric_retention_until="2027-05-01"),
        {"biometric_consent", "biometric_retention_until"},
    ),
    "property release with a date of birth": (
        _property_release(date_of_birth="1990-04-01"),
        {"date_of_birth"},
    ),
    "minor without a guardian": (
        _model_release(date_of_birth=SIGNED_ON.replace(year=SIGNED_ON.year - 15).isoformat()),
        {"guardian_name"},
    ),
    "witness is the person": (_model_release(witness_name="MARIA MODEL"), {"witness_name"}),
    "shoot ends before it starts": (_model_release(shoot_end="2026-04-30"), {"shoot_end"}),
    "shoot in the future": (
        _model_release(shoot_start="2999-01-01", shoot_end="2999-01-02"),
        {"shoot_start"},
    ),
    "retention beyond three years": (
        _model_release(biometric_consent="on", biometric_retention_until="2029-06-01"),
        {"biometric_retention_until"},
    ),
    "biometric consent without a retention date": (
        _model_release(biometric_consent="on"),
        {"biometric_retention_until"},
    ),
    "retention date without the biometric consent": (
        _model_release(biometric_retention_until="2027-05-01"),
        {"biometric_retention_until"},
    ),
    "several rules at once": (
        _property_release(date_of_birth="1990-04-01", witness_name="Olga Owner", shoot_end="2026-04-30"),
        {"date_of_birth", "witness_name", "shoot_end"},
    ),
}


def _page_errors(client, creator, release: dict[str, str]) -> dict[str, list[str]]:
    asset = MediaAssetFactory(creator=creator.creator_profile)
    client.force_login(creator)
    data = {**release, "assets": [str(asset.public_id)], "scan": _scan()}

    response = client.post(reverse("licensing:release-new"), data)

    assert response.status_code == 400
    return {field: list(errors) for field, errors in response.context["form"].errors.items()}


def _api_errors(creator, release: dict[str, str]) -> dict[str, list[str]]:
    asset = MediaAssetFactory(creator=creator.creator_profile)
    api = APIClient()
    api.force_login(creator)
    data = {**release, "asset_ids": [str(asset.public_id)], "scan": _scan()}

    response = api.post(reverse("licensing:api-releases"), data, format="multipart")

    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


@pytest.mark.parametrize(("release", "fields"), BAD_RELEASES.values(), ids=BAD_RELEASES.keys())
def test_the_page_and_the_api_refuse_a_bad_release_with_the_same_errors(
    client, creator, media_root, release, fields
):
    on_the_page = _page_errors(client, creator, release)
    through_the_api = _api_errors(creator, release)

    assert set(on_the_page) == fields
    assert on_the_page == through_the_api
    assert not Release.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not [path for path in Path(media_root).rglob("*") if path.is_file()]


def test_a_property_release_never_stores_a_biometric_consent(creator, media_root):
    release = _property_release(biometric_consent="on", biometric_retention_until="2027-05-01")

    errors = _api_errors(creator, release)

    assert errors["biometric_consent"] == [
        "A property release carries no biometric consent; only a model release can."
    ]
    assert not Release.objects.filter(biometric_consent=True).exists()


@pytest.mark.parametrize("release", [_model_release(), _property_release()], ids=["model", "property"])
def test_a_good_paper_release_is_accepted_by_the_page_and_the_api(client, creator, media_root, release):
    asset = MediaAssetFactory(creator=creator.creator_profile)
    client.force_login(creator)
    page = client.post(
        reverse("licensing:release-new"), {**release, "assets": [str(asset.public_id)], "scan": _scan()}
    )
    api = APIClient()
    api.force_login(creator)
    answer = api.post(
        reverse("licensing:api-releases"),
        {**release, "asset_ids": [str(asset.public_id)], "scan": _scan()},
        format="multipart",
    )

    assert page.status_code == 302
    assert answer.status_code == 201, answer.content
    stored = list(Release.objects.values_list("kind", "date_of_birth", "biometric_consent"))
    assert len(stored) == 2 and len(set(stored)) == 1
