"""The S3 path of storage, against moto's S3 server on loopback (a real HTTP endpoint, not a mock of boto3)."""

import base64
import json

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from creators import services
from creators.models import MediaAsset, UploadSession
from tests.creators import hostile_corpus

pytestmark = pytest.mark.django_db


def test_upload_and_ingest_store_the_original_and_derivatives_in_s3(s3_bucket, creator):
    asset = services.asset_upload(
        creator=creator.creator_profile,
        upload=SimpleUploadedFile("a.jpg", hostile_corpus.jpeg_bytes((320, 240))),
    )
    services.asset_ingest(asset_id=asset.pk)
    asset.refresh_from_db()

    assert asset.status == MediaAsset.Status.READY
    assert s3_bucket.object_keys() == sorted([asset.original.name, asset.thumbnail.name, asset.preview.name])


def test_a_refused_upload_leaves_no_object_in_s3(s3_bucket, creator, client):
    client.force_login(creator)

    response = client.post(reverse("creators:api-assets"), {"file": SimpleUploadedFile("x.jpg", b"<html>")})

    assert response.status_code == 400
    assert s3_bucket.object_keys() == []


def test_derivatives_are_served_by_short_lived_signed_links(s3_bucket, creator, client):
    asset = services.asset_upload(
        creator=creator.creator_profile,
        upload=SimpleUploadedFile("a.jpg", hostile_corpus.jpeg_bytes((320, 240))),
    )
    services.asset_ingest(asset_id=asset.pk)
    client.force_login(creator)

    response = client.get(reverse("creators:asset-file", args=[asset.public_id, "thumbnail"]))

    assert response.status_code == 302
    assert "X-Amz-Expires=900" in response["Location"]
    fetched = requests.get(response["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content[:3] == b"\xff\xd8\xff"


def test_deleting_an_asset_deletes_its_objects(s3_bucket, creator, django_capture_on_commit_callbacks):
    asset = services.asset_upload(
        creator=creator.creator_profile,
        upload=SimpleUploadedFile("a.jpg", hostile_corpus.jpeg_bytes((320, 240))),
    )
    services.asset_ingest(asset_id=asset.pk)
    asset.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        services.asset_delete(asset=asset)

    assert s3_bucket.object_keys() == []


def _start_direct(client, content: bytes, content_type="image/jpeg"):
    return client.post(
        reverse("creators:api-uploads"),
        {"file_name": "shot.jpg", "size": len(content), "direct": True, "content_type": content_type},
        content_type="application/json",
    )


def _post_to_s3(form: dict, content: bytes, content_type="image/jpeg") -> requests.Response:
    return requests.post(
        form["url"], data=form["fields"], files={"file": ("shot.jpg", content, content_type)}, timeout=10
    )


def test_a_direct_upload_goes_to_the_bucket_and_is_checked_on_completion(s3_bucket, creator, client):
    content = hostile_corpus.jpeg_bytes((320, 240))
    client.force_login(creator)

    started = _start_direct(client, content).json()
    posted = _post_to_s3(started["s3"], content)
    response = client.post(
        reverse("creators:api-upload-complete", args=[started["id"]]),
        {"category": "food"},
        content_type="application/json",
    )

    assert posted.status_code in (200, 204), posted.text
    assert response.status_code == 201, response.content
    asset = MediaAsset.objects.get()
    assert asset.category == "food"
    assert s3_bucket.object_keys() == [asset.original.name]  # the incoming object is gone once checked
    assert (
        s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=asset.original.name)["Body"].read() == content
    )


def test_the_presigned_policy_pins_size_key_prefix_and_type(s3_bucket, creator, client):
    content = hostile_corpus.jpeg_bytes((320, 240))
    client.force_login(creator)

    form = _start_direct(client, content).json()["s3"]

    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", len(content), len(content)] in conditions
    assert ["starts-with", "$key", f"incoming/{creator.creator_profile.pk}/"] in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert form["fields"]["key"].startswith(f"incoming/{creator.creator_profile.pk}/")


def test_a_hostile_file_posted_directly_is_refused_and_removed(s3_bucket, creator, client):
    content = b"<html><script>alert(1)</script></html>".ljust(2000, b" ")
    client.force_login(creator)
    started = _start_direct(client, content).json()
    _post_to_s3(started["s3"], content)

    response = client.post(
        reverse("creators:api-upload-complete", args=[started["id"]]), {}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "web page" in response.json()["error"]["fields"]["file"][0]
    assert s3_bucket.object_keys() == []
    assert not MediaAsset.objects.exists() and not UploadSession.objects.exists()


def test_completing_a_direct_upload_before_the_file_arrived_is_a_conflict(s3_bucket, creator, client):
    client.force_login(creator)
    started = _start_direct(client, b"x" * 100).json()

    response = client.post(
        reverse("creators:api-upload-complete", args=[started["id"]]), {}, content_type="application/json"
    )

    assert response.status_code == 409
    assert "not arrived" in response.json()["error"]["message"]


def test_a_direct_upload_of_a_type_we_never_take_is_refused_up_front(s3_bucket, creator, client):
    client.force_login(creator)

    response = _start_direct(client, b"x" * 100, content_type="text/html")

    assert response.status_code == 400
    assert "content_type" in response.json()["error"]["fields"]
    assert not UploadSession.objects.exists()


def test_direct_uploads_need_object_storage(client, creator, media_root):
    client.force_login(creator)

    response = _start_direct(client, b"x" * 100)

    assert response.status_code == 400
    assert "send the file in chunks" in response.json()["error"]["message"]
