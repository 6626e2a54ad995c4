"""Uploads with quotas: one creator cannot reserve the site's disk with open uploads, and one upload completed
by several requests at once becomes one asset."""

import io
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from creators.models import MediaAsset, UploadSession

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chunk_dir(settings, tmp_path):
    settings.UPLOAD_CHUNK_DIR = tmp_path / "uploads"
    return settings.UPLOAD_CHUNK_DIR


def _start(client, size: int, name: str = "clip.mp4"):
    return client.post(
        reverse("creators:api-uploads"), {"file_name": name, "size": size}, content_type="application/json"
    )


def test_a_creator_past_the_open_upload_cap_gets_a_409_naming_it(client, creator, settings, chunk_dir):
    settings.UPLOAD_MAX_OPEN_SESSIONS = 3
    client.force_login(creator)
    for _ in range(3):
        assert _start(client, 1024).status_code == 201

    refused = _start(client, 1024)

    assert refused.status_code == 409
    assert "the most at once is 3" in refused.json()["error"]["message"]
    assert UploadSession.objects.count() == 3
    assert len(list(chunk_dir.iterdir())) == 3


def test_announcing_more_bytes_than_the_allowance_gets_a_409_naming_it(client, creator, settings):
    settings.UPLOAD_MAX_RESERVED_BYTES = 100 * 1024 * 1024
    client.force_login(creator)
    assert _start(client, 60 * 1024 * 1024).status_code == 201

    refused = _start(client, 60 * 1024 * 1024)

    assert refused.status_code == 409
    body = refused.json()["error"]
    assert "100 MB allowed at once" in str(body)
    assert UploadSession.objects.count() == 1


def test_two_hundred_four_gib_uploads_are_not_all_accepted(client, creator):
    client.force_login(creator)

    statuses = [_start(client, 4 * 1024**3).status_code for _ in range(200)]

    assert statuses.count(201) == 4
    assert set(statuses[4:]) == {409}


def test_expired_uploads_do_not_count_against_the_cap(client, creator, settings):
    settings.UPLOAD_MAX_OPEN_SESSIONS = 1
    client.force_login(creator)
    assert _start(client, 1024).status_code == 201
    UploadSession.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    assert _start(client, 1024).status_code == 201


def test_each_creator_has_an_allowance_of_their_own(client, creator, settings):
    from tests.factories import CreatorFactory

    settings.UPLOAD_MAX_OPEN_SESSIONS = 1
    client.force_login(creator)
    assert _start(client, 1024).status_code == 201
    client.force_login(CreatorFactory())

    assert _start(client, 1024).status_code == 201


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 140, 60)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_completes_of_one_upload_make_one_asset_and_409s(creator, media_root, chunk_dir):
    content = _jpeg()
    first = Client()
    first.force_login(creator)
    upload_id = _start(first, len(content), name="photo.jpg").json()["id"]
    sent = first.put(
        reverse("creators:api-upload", args=[upload_id]),
        content,
        content_type="application/octet-stream",
        HTTP_CONTENT_RANGE=f"bytes 0-{len(content) - 1}/{len(content)}",
    )
    assert sent.status_code == 200, sent.content
    completers = 4
    barrier = threading.Barrier(completers)
    answers: list[int] = []

    def complete() -> None:
        client = Client()
        client.force_login(creator)
        barrier.wait()
        try:
            answer = client.post(
                reverse("creators:api-upload-complete", args=[upload_id]),
                {"category": "other"},
                content_type="application/json",
            )
            answers.append(answer.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(completers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [201] + [409] * (completers - 1)
    assert MediaAsset.objects.count() == 1
    assert not UploadSession.objects.exists()
    assert list(chunk_dir.iterdir()) == []
