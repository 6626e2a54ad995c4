"""Chunked uploads: in order, resumable after a dropped connection, checked like any upload when complete."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from creators import services
from creators.models import MediaAsset, UploadSession
from tests.creators import hostile_corpus
from tests.factories import CreatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chunk_dir(settings, tmp_path) -> Path:
    settings.UPLOAD_CHUNK_DIR = tmp_path / "uploads"
    return settings.UPLOAD_CHUNK_DIR


@pytest.fixture
def video(tmp_path) -> bytes:
    return hostile_corpus.encode_video(tmp_path / "v.mp4", container="mp4", codec="mpeg4", seconds=2)


def _start(client, content: bytes, name="clip.mp4"):
    return client.post(
        reverse("creators:api-uploads"),
        {"file_name": name, "size": len(content)},
        content_type="application/json",
    )


def _put(client, upload_id, content: bytes, start: int, end: int, total: int | None = None):
    return client.put(
        reverse("creators:api-upload", args=[upload_id]),
        content[start : end + 1],
        content_type="application/octet-stream",
        HTTP_CONTENT_RANGE=f"bytes {start}-{end}/{total if total is not None else len(content)}",
    )


def _send_all(client, upload_id, content: bytes, chunk: int = 4096) -> None:
    for start in range(0, len(content), chunk):
        response = _put(client, upload_id, content, start, min(start + chunk, len(content)) - 1)
        assert response.status_code == 200, response.content


def test_a_video_sent_in_chunks_becomes_an_asset(client, creator, media_root, chunk_dir, video):
    client.force_login(creator)
    upload_id = _start(client, video).json()["id"]

    _send_all(client, upload_id, video)
    response = client.post(
        reverse("creators:api-upload-complete", args=[upload_id]),
        {"category": "motion_video", "tags": ["city"]},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    asset = MediaAsset.objects.get()
    assert (asset.kind, asset.mime_type, asset.original_bytes) == ("video", "video/mp4", len(video))
    assert (media_root / asset.original.name).read_bytes() == video
    assert not UploadSession.objects.exists()
    assert list(chunk_dir.iterdir()) == []


def test_an_upload_resumes_from_where_the_server_says_after_a_dropped_chunk(
    client, creator, media_root, chunk_dir, video
):
    client.force_login(creator)
    upload_id = _start(client, video).json()["id"]
    _put(client, upload_id, video, 0, 1023)

    # The next chunk was lost on the way; the client sends the one after it, is told where to resume, and does.
    skipped = _put(client, upload_id, video, 2048, 3071)
    offset = client.get(reverse("creators:api-upload", args=[upload_id])).json()["offset"]
    for start in range(offset, len(video), 1024):
        assert _put(client, upload_id, video, start, min(start + 1024, len(video)) - 1).status_code == 200

    assert skipped.status_code == 409
    assert "from offset 1024" in skipped.json()["error"]["message"]
    assert offset == 1024
    complete = client.post(
        reverse("creators:api-upload-complete", args=[upload_id]), {}, content_type="application/json"
    )
    assert complete.status_code == 201
    assert (media_root / MediaAsset.objects.get().original.name).read_bytes() == video


def test_a_chunk_sent_twice_is_refused_and_changes_nothing(client, creator, chunk_dir, video):
    client.force_login(creator)
    upload_id = _start(client, video).json()["id"]
    _put(client, upload_id, video, 0, 4095)

    again = _put(client, upload_id, video, 0, 4095)

    assert again.status_code == 409
    assert UploadSession.objects.get().received == 4096


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "Content-Range header"),
        ({"HTTP_CONTENT_RANGE": "bytes=0-9"}, "Content-Range header"),
        ({"HTTP_CONTENT_RANGE": "bytes 0-99/{size}"}, "does not match the chunk's length"),
        ({"HTTP_CONTENT_RANGE": "bytes 9-0/{size}"}, "does not match"),
        ({"HTTP_CONTENT_RANGE": "bytes 0-9/5"}, "not 5"),
    ],
)
def test_malformed_chunks_get_a_clear_400(client, creator, chunk_dir, video, headers, says):
    client.force_login(creator)
    upload_id = _start(client, video).json()["id"]
    headers = {key: value.format(size=len(video)) for key, value in headers.items()}

    response = client.put(
        reverse("creators:api-upload", args=[upload_id]),
        video[:10],
        content_type="application/octet-stream",
        **headers,
    )

    assert response.status_code == 400
    assert says in response.json()["error"]["message"]
    assert UploadSession.objects.get().received == 0


def test_a_chunk_past_the_declared_size_is_refused(client, creator, chunk_dir):
    client.force_login(creator)
    upload_id = _start(client, b"x" * 10).json()["id"]

    response = _put(client, upload_id, b"y" * 20, 0, 19, total=10)

    assert response.status_code == 400


def test_completing_before_every_byte_arrived_is_a_conflict(client, creator, chunk_dir, video):
    client.force_login(creator)
    upload_id = _start(client, video).json()["id"]
    _put(client, upload_id, video, 0, 4095)

    response = client.post(
        reverse("creators:api-upload-complete", args=[upload_id]), {}, content_type="application/json"
    )

    assert response.status_code == 409
    assert not MediaAsset.objects.exists()


def test_a_hostile_file_sent_in_chunks_is_refused_and_leaves_nothing(client, creator, media_root, chunk_dir):
    content = b"<html><script>alert(1)</script></html>" * 300
    client.force_login(creator)
    upload_id = _start(client, content, name="clip.mp4").json()["id"]
    _send_all(client, upload_id, content)

    response = client.post(
        reverse("creators:api-upload-complete", args=[upload_id]), {}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "web page" in response.json()["error"]["fields"]["file"][0]
    assert not UploadSession.objects.exists() and not MediaAsset.objects.exists()
    assert list(chunk_dir.iterdir()) == []
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"file_name": "a.mp4", "size": 0}, "size"),
        ({"file_name": "a.mp4", "size": 10**15}, "size"),
        ({"size": 5}, "file_name"),
    ],
)
def test_bad_upload_starts_get_a_400(client, creator, chunk_dir, body, field):
    client.force_login(creator)

    response = client.post(reverse("creators:api-uploads"), body, content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not UploadSession.objects.exists()


def test_another_creators_upload_cannot_be_touched(client, creator, chunk_dir, video):
    client.force_login(CreatorFactory())
    upload_id = _start(client, video).json()["id"]
    client.force_login(creator)

    assert client.get(reverse("creators:api-upload", args=[upload_id])).status_code == 404
    assert _put(client, upload_id, video, 0, 4095).status_code == 404
    assert client.delete(reverse("creators:api-upload", args=[upload_id])).status_code == 404
    assert UploadSession.objects.get().received == 0


def test_an_aborted_upload_leaves_nothing(client, creator, chunk_dir, video):
    client.force_login(creator)
    upload_id = _start(client, video).json()["id"]
    _put(client, upload_id, video, 0, 4095)

    assert client.delete(reverse("creators:api-upload", args=[upload_id])).status_code == 204
    assert not UploadSession.objects.exists()
    assert list(chunk_dir.iterdir()) == []


def test_expired_uploads_are_dropped(client, creator, chunk_dir, video):
    client.force_login(creator)
    kept = _start(client, video).json()["id"]
    dropped = _start(client, video).json()["id"]
    UploadSession.objects.filter(public_id=dropped).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert services.upload_sessions_expire() == 1

    assert list(UploadSession.objects.values_list("public_id", flat=True).order_by()) == [
        UploadSession.objects.get().public_id
    ]
    assert str(UploadSession.objects.get().public_id) == kept
    assert [p.stem for p in chunk_dir.iterdir()] == [UploadSession.objects.get().public_id.hex]
