"""The S3 path of storage, against moto's S3 server on loopback (a real HTTP endpoint, not a mock of boto3)."""

import boto3
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from moto.server import ThreadedMotoServer

from creators import services
from creators.models import MediaAsset
from tests.creators import hostile_corpus

pytestmark = pytest.mark.django_db
BUCKET = "marketplace-test"
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        region_name=CREDENTIALS["region_name"],
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                **CREDENTIALS,
                "default_acl": None,
                "file_overwrite": False,
                "querystring_expire": 15 * 60,
                "signature_version": "s3v4",
            },
        },
    }
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_upload_and_ingest_store_the_original_and_derivatives_in_s3(bucket, creator):
    asset = services.asset_upload(
        creator=creator.creator_profile,
        upload=SimpleUploadedFile("a.jpg", hostile_corpus.jpeg_bytes((320, 240))),
    )
    services.asset_ingest(asset_id=asset.pk)
    asset.refresh_from_db()

    assert asset.status == MediaAsset.Status.READY
    assert _keys(bucket) == sorted([asset.original.name, asset.thumbnail.name, asset.preview.name])


def test_a_refused_upload_leaves_no_object_in_s3(bucket, creator, client):
    client.force_login(creator)

    response = client.post(reverse("creators:api-assets"), {"file": SimpleUploadedFile("x.jpg", b"<html>")})

    assert response.status_code == 400
    assert _keys(bucket) == []


def test_derivatives_are_served_by_short_lived_signed_links(bucket, creator, client):
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


def test_deleting_an_asset_deletes_its_objects(bucket, creator, django_capture_on_commit_callbacks):
    asset = services.asset_upload(
        creator=creator.creator_profile,
        upload=SimpleUploadedFile("a.jpg", hostile_corpus.jpeg_bytes((320, 240))),
    )
    services.asset_ingest(asset_id=asset.pk)
    asset.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        services.asset_delete(asset=asset)

    assert _keys(bucket) == []
