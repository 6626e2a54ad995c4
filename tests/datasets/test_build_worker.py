"""Bundle builds through a real Celery worker, including one killed again and again mid-build."""

import io
import time
from pathlib import Path

import pytest
import webdataset as wds
from PIL import Image

from datasets import build, services
from datasets.models import BundleFile, DatasetVersion
from datasets.packaging.checksums import load_public_key, public_key_pem, verify_bundle
from datasets.signing_key import signing_key
from tests.datasets.conftest import store_sellable
from tests.datasets.test_build import _download

pytestmark = pytest.mark.worker

KILLS = 10
# One sample a shard, and a lease that runs out quickly: each restart resumes within a second or two.
WORKER_SETTINGS = {"DATASET_SHARD_BYTES": str(1024 * 1024), "DATASET_BUILD_LEASE_SECONDS": "1"}


def _noise_photo(seed: int) -> bytes:
    """About 1.3 MB: incompressible, so each sample takes the worker a moment and fills a shard."""
    image = Image.effect_noise((900, 900), 60 + seed % 40).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=98)
    return buffer.getvalue()


def _shards_done(version: DatasetVersion) -> int:
    return version.files.filter(kind=BundleFile.Kind.SHARD).count()


def test_a_build_killed_ten_times_ends_complete_valid_and_once(
    settings, start_worker, offered_dataset, tmp_path: Path
):
    settings.DATASET_BUILD_LEASE_SECONDS = 1
    photos = [store_sellable(_noise_photo(seed)) for seed in range(60)]
    dataset = offered_dataset()
    version = services.version_build_request(dataset=dataset, actor=None)
    killed_while_building = 0

    for _ in range(KILLS):
        before = _shards_done(version)
        worker = start_worker(**WORKER_SETTINGS)
        # SIGKILL it as soon as it has stored one more shard: mid-build, with a shard half written.
        _until(lambda before=before: _shards_done(version) > before or _published(version), worker)
        worker.kill()
        if not _published(version):
            killed_while_building += 1
        time.sleep(1.2)  # the dead attempt's lease runs out
        build.versions_resume_stalled()

    survivor = start_worker(**WORKER_SETTINGS)
    survivor.wait_for(lambda: _published(version), timeout=120)

    version.refresh_from_db()
    assert killed_while_building == KILLS
    assert version.build_attempts >= KILLS + 1
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1
    indexes = list(version.files.filter(kind=BundleFile.Kind.SHARD).values_list("shard_index", flat=True))
    assert sorted(indexes) == list(range(len(photos)))
    bundle = _download(version, tmp_path)
    verify_bundle(bundle, load_public_key(public_key_pem(signing_key())))
    shards = sorted(str(path) for path in (bundle / "shards").glob("*.tar"))
    keys = [sample["__key__"] for sample in wds.WebDataset(shards, shardshuffle=False)]
    assert sorted(keys) == sorted(photo.public_id.hex for photo in photos)


def _until(condition, worker, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Poll far more often than WorkerProcess.wait_for: a shard takes the worker a few milliseconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.process.poll() is None, worker.log()
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.005)


def _published(version: DatasetVersion) -> bool:
    version.refresh_from_db()
    return version.status == DatasetVersion.Status.PUBLISHED


def test_a_build_requested_on_the_page_is_built_by_the_worker(live_worker, offered_dataset, sellable_video):
    sellable_video()
    version = services.version_build_request(dataset=offered_dataset(), actor=None)

    live_worker.wait_for(lambda: _published(version), timeout=60)

    assert version.files.filter(kind=BundleFile.Kind.SHARD, series="videos").count() == 1
