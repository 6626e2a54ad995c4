import io
import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from creators import selectors, services
from creators.ingest.hashing import hamming
from creators.models import DuplicateFlag, MediaAsset, PerceptualHash
from tests.creators import hostile_corpus
from tests.factories import CreatorFactory

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "camera-samples"
needs_corpus = pytest.mark.skipif(
    not CORPUS.exists(), reason="the shared camera corpus is not beside the project"
)


def _photo(width=640, height=480, seed=1) -> bytes:
    """A photo-like JPEG: smooth gradients and shapes, so resized copies keep their perceptual hash."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    pixels = image.load()
    for _ in range(12):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(20, width // 4)
        color = tuple(rng.randrange(256) for _ in range(3))
        for dx in range(-r, r, 3):
            for dy in range(-r, r, 3):
                if 0 <= x + dx < width and 0 <= y + dy < height and dx * dx + dy * dy < r * r:
                    pixels[x + dx, y + dy] = color
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _resized(content: bytes, factor: float) -> bytes:
    image = Image.open(io.BytesIO(content))
    buffer = io.BytesIO()
    image.resize((int(image.width * factor), int(image.height * factor)), Image.Resampling.LANCZOS).save(
        buffer, "JPEG", quality=80
    )
    return buffer.getvalue()


def upload_and_ingest(creator, content: bytes, name: str = "photo.jpg") -> MediaAsset:
    asset = services.asset_upload(creator=creator.creator_profile, upload=SimpleUploadedFile(name, content))
    services.asset_ingest(asset_id=asset.pk)
    asset.refresh_from_db()
    return asset


@needs_corpus
def test_a_camera_photo_is_ingested_with_its_metadata_and_clean_derivatives(creator, media_root):
    content = (CORPUS / "jpg" / "Canon_40D.jpg").read_bytes()

    asset = upload_and_ingest(creator, content, "Canon_40D.jpg")

    assert asset.status == MediaAsset.Status.READY, asset.rejection_reason
    assert (asset.width, asset.height) == (100, 68)
    assert len(asset.sha256) == 64
    assert asset.ingest_progress == 100
    assert "Canon" in str(asset.metadata)
    for field in ("thumbnail", "preview"):
        derivative = Image.open(media_root / getattr(asset, field).name)
        assert not derivative.getexif()
        assert "exif" not in derivative.info and "xmp" not in derivative.info


@needs_corpus
def test_gps_is_kept_only_at_city_level_and_never_in_derivatives(creator, media_root):
    with_gps = [
        p for p in sorted((CORPUS / "jpg").glob("*.jpg")) if 2 in Image.open(p).getexif().get_ifd(0x8825)
    ]
    assert with_gps, "the corpus has photos with GPS"

    asset = upload_and_ingest(creator, with_gps[0].read_bytes(), with_gps[0].name)

    assert asset.gps_coarse_lat is not None
    assert round(asset.gps_coarse_lat, 1) == asset.gps_coarse_lat
    exact_latitude = Image.open(with_gps[0]).getexif().get_ifd(0x8825)[2]
    assert str(exact_latitude[1]) not in str(asset.metadata)
    for field in ("thumbnail", "preview"):
        assert not Image.open(media_root / getattr(asset, field).name).getexif().get_ifd(0x8825)


def test_ingest_twice_changes_nothing_the_second_time(creator, media_root):
    asset = upload_and_ingest(creator, _photo())
    files_before = sorted(p.name for p in media_root.rglob("*") if p.is_file())

    services.asset_ingest(asset_id=asset.pk)

    assert sorted(p.name for p in media_root.rglob("*") if p.is_file()) == files_before
    assert PerceptualHash.objects.filter(asset=asset).count() == 1


def test_a_retried_ingest_overwrites_its_derivatives_instead_of_piling_them_up(creator, media_root):
    asset = upload_and_ingest(creator, _photo())
    MediaAsset.objects.filter(pk=asset.pk).update(status=MediaAsset.Status.PROCESSING)

    services.asset_ingest(asset_id=asset.pk)

    derivatives = [p for p in (media_root / "derivatives" / asset.public_id.hex).iterdir()]
    assert len(derivatives) == 2
    assert PerceptualHash.objects.filter(asset=asset).count() == 1


def test_a_resized_copy_from_another_account_is_flagged_as_a_near_duplicate(creator, media_root):
    original = upload_and_ingest(creator, _photo(1200, 900))
    thief = CreatorFactory()

    copy = upload_and_ingest(thief, _resized(_photo(1200, 900), 0.5), "mine.jpg")

    flag = DuplicateFlag.objects.get(asset=copy)
    assert (flag.other_id, flag.kind, flag.cross_account) == (original.pk, "near", True)
    assert flag.distance <= services.NEAR_DUPLICATE_MAX_BITS
    assert DuplicateFlag.objects.get(asset=original).other_id == copy.pk


def test_the_same_file_from_two_accounts_is_flagged_as_an_exact_duplicate(creator, media_root):
    content = _photo()
    first = upload_and_ingest(creator, content)

    second = upload_and_ingest(CreatorFactory(), content)

    flag = DuplicateFlag.objects.get(asset=second)
    assert (flag.other_id, flag.kind, flag.distance, flag.cross_account) == (first.pk, "exact", 0, True)


def test_different_photos_are_not_flagged(creator, media_root):
    upload_and_ingest(creator, _photo(seed=1))
    upload_and_ingest(creator, _photo(seed=2))

    assert not DuplicateFlag.objects.exists()


def test_an_asset_that_keeps_failing_is_rejected_after_its_attempts(creator, media_root):
    asset = services.asset_upload(
        creator=creator.creator_profile, upload=SimpleUploadedFile("a.png", hostile_corpus.png_bytes())
    )
    MediaAsset.objects.filter(pk=asset.pk).update(
        status=MediaAsset.Status.PROCESSING, ingest_attempts=services.MAX_INGEST_ATTEMPTS
    )

    services.asset_ingest(asset_id=asset.pk)

    asset.refresh_from_db()
    assert asset.status == MediaAsset.Status.REJECTED
    assert "could not process" in asset.rejection_reason


def test_stalled_assets_are_queued_again(creator, media_root, django_capture_on_commit_callbacks):
    fresh = services.asset_upload(
        creator=creator.creator_profile, upload=SimpleUploadedFile("a.png", hostile_corpus.png_bytes())
    )
    stalled = services.asset_upload(
        creator=creator.creator_profile, upload=SimpleUploadedFile("b.png", hostile_corpus.png_bytes())
    )
    MediaAsset.objects.filter(pk=stalled.pk).update(
        status=MediaAsset.Status.PROCESSING, updated_at=timezone.now() - timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks() as callbacks:
        requeued = services.assets_requeue_stalled()

    assert requeued == 1
    assert len(callbacks) == 1
    assert MediaAsset.objects.get(pk=fresh.pk).status == MediaAsset.Status.UPLOADED


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("uploaded", "processing", True),
        ("uploaded", "rejected", True),
        ("uploaded", "ready", False),
        ("processing", "processing", True),
        ("processing", "ready", True),
        ("processing", "rejected", True),
        ("processing", "uploaded", False),
        ("ready", "processing", False),
        ("ready", "rejected", False),
        ("rejected", "processing", False),
        ("rejected", "ready", False),
    ],
)
def test_ingest_state_machine(start, target, allowed):
    asset = MediaAsset(status=start)

    if allowed:
        services._transition(asset, target)
        assert asset.status == target
    else:
        with pytest.raises(ValidationError) as error:
            services._transition(asset, target)
        assert error.value.code == "invalid_transition"


def test_deleting_an_asset_removes_its_original_and_derivatives(
    creator, media_root, django_capture_on_commit_callbacks
):
    asset = upload_and_ingest(creator, _photo())
    assert [p for p in media_root.rglob("*") if p.is_file()]

    with django_capture_on_commit_callbacks(execute=True):
        services.asset_delete(asset=asset)

    assert not MediaAsset.objects.exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_near_duplicate_search_finds_every_hash_within_the_distance(creator):
    """The band index against a brute-force scan, over random hashes with planted near neighbours."""
    rng = random.Random(11)
    profile = creator.creator_profile
    stored = []
    for index in range(400):
        asset = MediaAsset.objects.create(
            creator=profile,
            kind="image",
            original=f"x/{index}",
            original_name="x",
            original_bytes=1,
            mime_type="x",
        )
        value = rng.getrandbits(64)
        stored.append((asset.pk, value))
        services._index_hashes(asset, [value])
    for trial in range(40):
        _, base = stored[trial]
        query = base
        for bit in rng.sample(range(64), rng.randrange(0, 8)):
            query ^= 1 << bit
        expected = {pk: hamming(query, value) for pk, value in stored if hamming(query, value) <= 7}

        found = selectors.near_duplicate_ids(hashes=[query], max_bits=7)

        assert found == expected
