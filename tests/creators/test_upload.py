from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from creators.models import MediaAsset
from tests.creators import hostile_corpus

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "camera-samples"


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file()]


@pytest.fixture(scope="module")
def hostile_cases(tmp_path_factory):
    return hostile_corpus.build(tmp_path_factory.mktemp("hostile"))


def _upload(client, name: str, content: bytes, **fields):
    return client.post(reverse("creators:api-assets"), {"file": SimpleUploadedFile(name, content), **fields})


def test_the_hostile_corpus_has_at_least_fifty_files(hostile_cases):
    assert len(hostile_cases) >= 50


def test_every_hostile_file_is_refused_clearly_and_leaves_nothing(client, creator, media_root, hostile_cases):
    client.force_login(creator)
    failures = []
    for hostile in hostile_cases:
        response = _upload(client, hostile.name, hostile.content)
        body = response.json() if response["Content-Type"] == "application/json" else {}
        message = " ".join(body.get("error", {}).get("fields", {}).get("file", [])) or body.get(
            "error", {}
        ).get("message", "")
        if response.status_code != 400 or hostile.says.lower() not in message.lower():
            failures.append(f"{hostile.case}: {response.status_code} {message!r}")
    assert failures == []
    assert not MediaAsset.objects.exists()
    assert stored_files(media_root) == []


def test_a_valid_photo_with_a_wrong_extension_is_accepted_by_its_content(client, creator, media_root):
    client.force_login(creator)

    response = _upload(
        client, "really-a-png.jpg", hostile_corpus.png_bytes(), category="street", tags="night, rain"
    )

    assert response.status_code == 201, response.content
    asset = MediaAsset.objects.get()
    assert (asset.kind, asset.mime_type, asset.category) == ("image", "image/png", "street")
    assert asset.original.name.endswith(".png")
    assert asset.original_name == "really-a-png.jpg"
    assert sorted(asset.tags.values_list("name", flat=True)) == ["night", "rain"]


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("vacation\u202egpj.png", "vacationgpj.png"),
        ("../../etc/holiday.png", "holiday.png"),
        ("night\x00shot.png", "nightshot.png"),
    ],
)
def test_a_valid_photo_under_a_tricky_name_is_stored_under_a_generated_name(
    client, creator, media_root, sent, shown
):
    client.force_login(creator)

    assert _upload(client, sent, hostile_corpus.png_bytes()).status_code == 201

    asset = MediaAsset.objects.get()
    assert asset.original_name == shown
    assert asset.original.name.startswith(f"originals/{creator.creator_profile.pk}/")
    assert Path(asset.original.name).stem == asset.public_id.hex


def test_a_three_hundred_character_name_is_shortened_for_display(client, creator, media_root):
    client.force_login(creator)

    assert _upload(client, "a" * 296 + ".png", hostile_corpus.png_bytes()).status_code == 201

    name = MediaAsset.objects.get().original_name
    assert len(name) <= 200 and name.endswith(".png")


def test_a_file_over_the_size_limit_is_refused(client, creator, media_root, settings):
    settings.MEDIA_MAX_IMAGE_BYTES = 1000
    client.force_login(creator)

    response = _upload(client, "big.jpg", hostile_corpus.jpeg_bytes(size=(400, 300)))

    assert response.status_code == 400
    assert "the most we accept is" in response.json()["error"]["fields"]["file"][0]
    assert not MediaAsset.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "file"),
        ({"file": SimpleUploadedFile("x.png", b"")}, "file"),
        ({"category": "not-a-category"}, "category"),
        ({"tags": "x" * 51}, "tags"),
        ({"tags": ",".join(f"tag{i}" for i in range(31))}, "tags"),
        ({"title": "t" * 201}, "title"),
    ],
)
def test_bad_upload_fields_get_a_400_naming_the_field(client, creator, media_root, data, field):
    client.force_login(creator)
    payload = {"file": SimpleUploadedFile("ok.png", hostile_corpus.png_bytes()), **data}
    if not data:
        payload = {}

    response = client.post(reverse("creators:api-assets"), payload)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not MediaAsset.objects.exists()
    assert stored_files(media_root) == []


def test_buyers_cannot_upload(client, buyer, media_root):
    client.force_login(buyer)

    response = _upload(client, "ok.png", hostile_corpus.png_bytes())

    assert response.status_code == 403
    assert stored_files(media_root) == []


def test_anonymous_upload_is_refused(client, media_root):
    assert _upload(client, "ok.png", hostile_corpus.png_bytes()).status_code in (401, 403)


def test_a_json_body_is_refused_with_415(client, creator):
    client.force_login(creator)

    response = client.post(reverse("creators:api-assets"), {"file": "x"}, content_type="application/json")

    assert response.status_code == 415


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared camera corpus is not beside the project")
@pytest.mark.parametrize("name", ["heic/IMG_5195.HEIC", "jpg/Canon_40D.jpg"])
def test_camera_files_are_accepted(client, creator, media_root, name):
    client.force_login(creator)

    response = _upload(client, Path(name).name, (CORPUS / name).read_bytes())

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "uploaded"
