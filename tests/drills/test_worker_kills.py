"""Workers SIGKILLed in the middle of an ingest or a bundle build, ten times over, and restarted each time."""

import io
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import webdataset as wds
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from creators import services as creator_services
from creators.models import DuplicateFlag, MediaAsset, PerceptualHash
from datasets import build, selectors, services
from datasets.models import BundleFile, DatasetVersion
from datasets.packaging.checksums import load_public_key, public_key_pem, verify_bundle
from datasets.signing_key import signing_key
from tests.datasets.conftest import store_sellable
from tests.datasets.test_build import _download
from tests.drills.conftest import until

pytestmark = [pytest.mark.worker, pytest.mark.drill]

KILLS = 10
# Ingest reaches this once the original is fetched; the pipeline runs until it writes 80.
PIPELINE_RUNNING = 20


def test_ingest_survives_ten_workers_killed_mid_ingest(start_worker, creator, camera_photos, drill):
    ids = [
        creator_services.asset_upload(
            creator=creator.creator_profile, upload=SimpleUploadedFile(name, content)
        ).pk
        for name, content in camera_photos[: KILLS + 4]
    ]
    left_mid_ingest = []

    for _ in range(KILLS):
        attempts_before = dict(MediaAsset.objects.filter(pk__in=ids).values_list("pk", "ingest_attempts"))
        worker = start_worker()
        # SIGKILL it while the pipeline runs on a photo it started: mid-way, derivatives not yet stored.
        until(lambda attempts_before=attempts_before: _in_the_pipeline(ids, attempts_before), worker)
        worker.kill()
        left_mid_ingest.append(len(_started_unfinished(ids, attempts_before)))
        # What the beat schedule does for tasks lost with their worker, without waiting the quarter of an hour.
        creator_services.assets_requeue_stalled(stalled_after=timedelta(0))

    survivor = start_worker()
    survivor.wait_for(lambda: _unfinished(ids) == 0, timeout=120)

    assets = list(MediaAsset.objects.filter(pk__in=ids))
    ready = [asset for asset in assets if asset.status == MediaAsset.Status.READY]
    failed = [asset for asset in assets if asset.status == MediaAsset.Status.REJECTED]
    assert left_mid_ingest == [1] * KILLS  # each kill caught one photo in the worker's hands
    assert (
        len(ready) + len(failed)
        == len(ids)
        == MediaAsset.objects.filter(creator=creator.creator_profile).count()
    )
    assert all(asset.rejection_reason for asset in failed)
    assert len(ready) >= len(ids) - KILLS // 3  # only a photo killed three times running is given up
    duplicate_rows = _duplicate_hash_rows(ids) + _duplicate_flag_rows(ids)
    duplicate_files = sum(_duplicate_files(asset) for asset in assets)
    assert (duplicate_rows, duplicate_files) == (0, 0)
    drill.survived(
        f"ingest: {KILLS} kills mid-ingest, {KILLS} restarts, {len(ids)} camera photos: {len(ready)} ready, "
        f"{len(failed)} failed with a reason, {_unfinished(ids)} stuck, {duplicate_rows} duplicate rows, "
        f"{duplicate_files} duplicate files"
    )


def _in_the_pipeline(ids: list[int], attempts_before: dict[int, int]) -> bool:
    """Whether this worker is running the pipeline on a photo now (it started after `attempts_before`)."""
    return any(
        asset.ingest_progress == PIPELINE_RUNNING for asset in _started_unfinished(ids, attempts_before)
    )


def _started_unfinished(ids: list[int], attempts_before: dict[int, int]) -> list[MediaAsset]:
    started = MediaAsset.objects.filter(pk__in=ids, status=MediaAsset.Status.PROCESSING).only(
        "ingest_attempts", "ingest_progress"
    )
    return [asset for asset in started if asset.ingest_attempts > attempts_before[asset.pk]]


def _unfinished(ids: list[int]) -> int:
    return MediaAsset.objects.filter(pk__in=ids).exclude(status__in=["ready", "rejected"]).count()


def _duplicate_hash_rows(ids: list[int]) -> int:
    positions = Counter(PerceptualHash.objects.filter(asset_id__in=ids).values_list("asset_id", "position"))
    return sum(count - 1 for count in positions.values())


def _duplicate_flag_rows(ids: list[int]) -> int:
    pairs = Counter(DuplicateFlag.objects.filter(asset_id__in=ids).values_list("asset_id", "other_id"))
    return sum(count - 1 for count in pairs.values())


def _duplicate_files(asset: MediaAsset) -> int:
    """Files stored for the asset beyond its original and derivatives (a retry saving under a new name)."""
    original = Path(asset.original.name)
    _, originals = default_storage.listdir(str(original.parent))
    stored = [f"{original.parent}/{name}" for name in originals if name.startswith(asset.public_id.hex)]
    derivatives_folder = f"derivatives/{asset.public_id.hex}"
    if default_storage.exists(derivatives_folder):
        stored += [f"{derivatives_folder}/{name}" for name in default_storage.listdir(derivatives_folder)[1]]
    kept = {str(f.name) for f in (asset.original, asset.thumbnail, asset.preview) if f}
    return len(set(stored) - kept)


# One sample a shard, and a lease that runs out quickly: each restart resumes within a second or two.
LEASE_SECONDS = 1
BUILD_WORKER_SETTINGS = {
    "DATASET_SHARD_BYTES": str(256 * 1024),
    "DATASET_BUILD_LEASE_SECONDS": str(LEASE_SECONDS),
}


def noise_photo(seed: int) -> bytes:
    """About 330 KB: incompressible, so each sample takes the worker a moment and fills a shard."""
    image = Image.effect_noise((450, 450), 60 + seed % 40).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=98)
    return buffer.getvalue()


def test_a_build_survives_ten_workers_killed_mid_build(
    settings, start_worker, offered_dataset, tmp_path: Path, drill
):
    settings.DATASET_BUILD_LEASE_SECONDS = LEASE_SECONDS
    # A restarted worker may store a few shards before the next kill lands: enough samples that the tenth kill
    # still finds the build under way.
    photos = [store_sellable(noise_photo(seed)) for seed in range(4 * KILLS)]
    dataset = offered_dataset(is_public=True)
    version = services.version_build_request(dataset=dataset, actor=None)
    killed_while_building = 0

    worker = start_worker(**BUILD_WORKER_SETTINGS)
    for _ in range(KILLS):
        before = _shards_done(version)
        # SIGKILL it as soon as it has stored one more shard: mid-build, with the next shard half written.
        until(lambda before=before: _shards_done(version) > before or _published(version), worker)
        worker.kill()
        killed_at = time.monotonic()
        if not _published(version):
            killed_while_building += 1
            assert not _visible_to_buyers(dataset)
        worker = start_worker(**BUILD_WORKER_SETTINGS)
        time.sleep(max(0.0, LEASE_SECONDS + 0.2 - (time.monotonic() - killed_at)))  # the dead attempt's lease
        build.versions_resume_stalled()

    worker.wait_for(lambda: _published(version), timeout=120)

    version.refresh_from_db()
    assert killed_while_building == KILLS
    assert version.build_attempts >= KILLS + 1
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1
    assert _visible_to_buyers(dataset)
    indexes = list(version.files.filter(kind=BundleFile.Kind.SHARD).values_list("shard_index", flat=True))
    assert sorted(indexes) == list(range(len(photos)))
    stray_files = _stray_bundle_files(version)
    assert stray_files == 0
    bundle = _download(version, tmp_path)
    verify_bundle(bundle, load_public_key(public_key_pem(signing_key())))
    shards = sorted(str(path) for path in (bundle / "shards").glob("*.tar"))
    keys = [sample["__key__"] for sample in wds.WebDataset(shards, shardshuffle=False)]
    assert sorted(keys) == sorted(photo.public_id.hex for photo in photos)
    drill.survived(
        f"build: {KILLS} kills mid-build, {KILLS} restarts, {version.build_attempts} attempts, "
        f"{DatasetVersion.objects.filter(dataset=dataset).count()} version ({version.status}), "
        f"{len(indexes)} shards each once, {stray_files} stray files, never visible to buyers before it was "
        "published, signatures verified"
    )


def _shards_done(version: DatasetVersion) -> int:
    return version.files.filter(kind=BundleFile.Kind.SHARD).count()


def _published(version: DatasetVersion) -> bool:
    version.refresh_from_db()
    return version.status == DatasetVersion.Status.PUBLISHED


def _visible_to_buyers(dataset) -> bool:  # type: ignore[no-untyped-def]
    return (
        selectors.latest_published_version(dataset=dataset) is not None
        or selectors.catalog_datasets().filter(pk=dataset.pk).exists()
    )


def _stray_bundle_files(version: DatasetVersion) -> int:
    """Files in the version's storage folder that no BundleFile records: a half-stored or doubly stored one."""
    folder = f"{build.STORAGE_PREFIX}/{version.public_id}"
    _, documents = default_storage.listdir(folder)
    _, shards = default_storage.listdir(f"{folder}/{build.SHARDS_DIR}")
    stored = {f"{folder}/{name}" for name in documents} | {
        f"{folder}/{build.SHARDS_DIR}/{name}" for name in shards
    }
    return len(stored - set(version.files.values_list("storage_name", flat=True)))
