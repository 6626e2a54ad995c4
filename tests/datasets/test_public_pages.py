import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from datasets.models import BundleFile, Dataset, DatasetVersion, Offer
from datasets.services import version_build_start, version_create, version_publish, version_withdraw
from licensing.models import LicenseTerms
from tests.factories import ConsentFactory, MediaAssetFactory

pytestmark = pytest.mark.django_db

DATASHEET = """# Datasheet for street-v1

## Motivation

Made for **scene classifiers**.

| Field | Value |
| --- | --- |
| Samples | 2 |

<script>alert("not run")</script>
[a trap](javascript:alert(1))
"""
CROISSANT = b'{"@context": {"@vocab": "https://schema.org/"}, "@type": "sc:Dataset", "name": "street-v1"}\n'


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "JPEG")
    return buffer.getvalue()


def _sellable_with_preview(**fields):
    asset = MediaAssetFactory(**fields)
    asset.preview.save(f"previews/{asset.public_id.hex}.jpg", ContentFile(_jpeg()))
    ConsentFactory(asset=asset)
    return asset


def _store_document(version: DatasetVersion, path: str, content: bytes) -> None:
    name = default_storage.save(f"bundles/{version.name}/{path}", ContentFile(content))
    BundleFile.objects.create(
        version=version,
        kind="document",
        path=path,
        storage_name=name,
        byte_size=len(content),
        sha256="0" * 64,
    )


def _published(dataset: Dataset, *, change_note: str = "") -> DatasetVersion:
    version = version_create(dataset=dataset, actor=None, change_note=change_note)
    version_build_start(version=version)
    return version_publish(version=version)


@pytest.fixture
def dataset(media_root) -> Dataset:
    """A public dataset with a published version of two photos and its datasheet and Croissant stored."""
    _sellable_with_preview(title="Rainy crossing", category="street")
    _sellable_with_preview(title="Night market", category="street")
    dataset = Dataset.objects.create(
        slug="street",
        title="Street scenes",
        description="Street photography from European cities.",
        intended_uses="Training scene classifiers.",
        is_public=True,
    )
    Offer.objects.create(dataset=dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=25_000)
    version = _published(dataset, change_note="First release.")
    _store_document(version, "DATASHEET.md", DATASHEET.encode())
    _store_document(version, "croissant.json", CROISSANT)
    return dataset


def _item(dataset: Dataset, index: int = 0):
    return dataset.versions.get(status="published").items.order_by("position")[index]


def test_anyone_sees_a_public_dataset_with_its_prices_previews_and_datasheet(client, dataset):
    response = client.get("/datasets/street/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Street scenes" in page and "Training scene classifiers." in page
    assert "$250.00" in page
    assert page.count('loading="lazy"') == 2
    assert f"/datasets/street/previews/{_item(dataset).key}.jpg" in page
    assert "<strong>scene classifiers</strong>" in page and "<table>" in page
    assert "/datasets/street/croissant.json" in page
    assert "Not public" not in page


def test_the_datasheet_s_raw_html_and_script_links_are_not_rendered(client, dataset):
    page = client.get("/datasets/street/").content.decode()

    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert "javascript:" not in page


@pytest.mark.parametrize("who", [None, "buyer", "creator"])
def test_a_dataset_not_in_the_catalog_is_not_found(client, request, dataset, who):
    if who:
        client.force_login(request.getfixturevalue(who))
    Dataset.objects.filter(pk=dataset.pk).update(is_public=False)

    assert client.get("/datasets/street/").status_code == 404
    assert client.get("/datasets/street/croissant.json").status_code == 404
    assert client.get(f"/datasets/street/previews/{_item(dataset).key}.jpg").status_code == 404


def test_a_public_dataset_without_a_published_version_is_not_found(client, dataset):
    version_withdraw(version=dataset.versions.get(), reason="Mislabelled.")

    assert client.get("/datasets/street/").status_code == 404


def test_an_unknown_dataset_is_not_found(client, db):
    assert client.get("/datasets/nothing-here/").status_code == 404


def test_a_reviewer_previews_a_hidden_dataset_under_a_banner(client, reviewer, dataset):
    Dataset.objects.filter(pk=dataset.pk).update(is_public=False)
    client.force_login(reviewer)

    response = client.get("/datasets/street/")

    assert response.status_code == 200
    assert b"Not public." in response.content
    preview = client.get(f"/datasets/street/previews/{_item(dataset).key}.jpg")
    assert preview.status_code == 200
    assert preview["Cache-Control"] == "private, max-age=600"  # never kept by a shared cache while hidden


def test_a_preview_is_served_with_the_no_ai_headers(client, dataset):
    response = client.get(f"/datasets/street/previews/{_item(dataset).key}.jpg")

    assert response.status_code == 200
    assert response.content == _jpeg()
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Robots-Tag"] == "noai, noimageai"
    assert response["tdm-reservation"] == "1"
    assert response["Cache-Control"] == "public, max-age=3600"


def test_previews_of_unknown_erased_or_preview_less_samples_are_not_found(client, dataset):
    erased, without_preview = _item(dataset, 0), _item(dataset, 1)
    key_of_erased = erased.key
    erased.asset = None
    erased.save()
    without_preview.asset.preview = ""
    without_preview.asset.save()

    assert client.get("/datasets/street/previews/0123456789abcdef.jpg").status_code == 404
    assert client.get(f"/datasets/street/previews/{key_of_erased}.jpg").status_code == 404
    assert client.get(f"/datasets/street/previews/{without_preview.key}.jpg").status_code == 404


def test_the_croissant_is_served_as_json_ld_to_any_origin(client, dataset):
    response = client.get("/datasets/street/croissant.json")

    assert response.status_code == 200
    assert response.content == CROISSANT
    assert response["Content-Type"] == "application/ld+json"
    assert response["Access-Control-Allow-Origin"] == "*"


def test_no_croissant_stored_is_not_found(client, dataset):
    BundleFile.objects.filter(path="croissant.json").delete()

    assert client.get("/datasets/street/croissant.json").status_code == 404


def test_the_version_list_says_why_a_version_ended_and_what_replaced_it(client, dataset):
    _sellable_with_preview(title="Harbour", category="street")
    _published(dataset, change_note="One more photo.")

    page = client.get("/datasets/street/").content.decode()

    assert "street-v2" in page and "One more photo." in page
    assert "Replaced by version 2." in page
    assert "First release." in page


def test_previews_are_served_through_the_site_from_object_storage(client, s3_bucket):
    asset = _sellable_with_preview(category="street")
    dataset = Dataset.objects.create(slug="s3", title="S3", description="From a bucket.", is_public=True)
    version = _published(dataset)

    response = client.get(f"/datasets/s3/previews/{version.items.get().key}.jpg")

    assert response.status_code == 200  # not a redirect: the headers must reach whoever fetches it
    assert response.content == _jpeg()
    assert response["X-Robots-Tag"] == "noai, noimageai"
    assert asset.preview.name in s3_bucket.object_keys()
