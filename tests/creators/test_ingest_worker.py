"""Ingest through a real Celery worker (tests/drills kills it mid-ingest)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from creators import services
from creators.models import MediaAsset

pytestmark = pytest.mark.worker


def _photos(count: int, size=(2400, 1800)) -> list[bytes]:
    photos = []
    for index in range(count):
        image = Image.effect_mandelbrot(size, (-2 + index * 0.05, -1.2, 1, 1.2), 60).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        photos.append(buffer.getvalue())
    return photos


def _upload(creator, photos: list[bytes]) -> list[int]:
    return [
        services.asset_upload(
            creator=creator.creator_profile, upload=SimpleUploadedFile(f"p{i}.jpg", content)
        ).pk
        for i, content in enumerate(photos)
    ]


def _unfinished(ids: list[int]) -> int:
    return MediaAsset.objects.filter(pk__in=ids).exclude(status__in=["ready", "rejected"]).count()


def test_uploaded_photos_are_ingested_by_a_real_worker(start_worker, creator):
    ids = _upload(creator, _photos(3, size=(800, 600)))
    worker = start_worker()

    worker.wait_for(lambda: _unfinished(ids) == 0, timeout=90)

    assert set(MediaAsset.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"ready"}
