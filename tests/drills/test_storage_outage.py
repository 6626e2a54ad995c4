"""S3 storage out of reach for some seconds, in the middle of an ingest and of a bundle build, and for good.

The worker reaches moto's S3 server through a loopback proxy the drill turns into an outage: first every
connection is reset, then every request is answered 503 SlowDown. The test process itself talks to moto
directly, as a web process would while only the workers' network path is broken.
"""

import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from creators import services as creator_services
from creators.models import MediaAsset
from datasets import build, services
from datasets.models import BundleFile, DatasetVersion
from datasets.packaging.checksums import load_public_key, public_key_pem, verify_bundle
from datasets.signing_key import signing_key
from tests.datasets.conftest import store_sellable
from tests.datasets.test_build import _download
from tests.drills.conftest import StorageProxy, s3_worker_settings, until
from tests.drills.test_worker_kills import noise_photo

pytestmark = [pytest.mark.worker, pytest.mark.drill]

OUTAGE_SECONDS = 6
# Backoff of 1, 2, 4, 4... seconds (each drawn at random below that): the outage takes several retries, and
# ten of them cannot all be spent within it.
RIDE_OUT = {"backoff_seconds": "1", "backoff_max_seconds": "4", "max": "10"}


def _outage(proxy: StorageProxy) -> None:
    """Storage out of reach for OUTAGE_SECONDS: connections reset for half of it, 503 SlowDown for the rest."""
    proxy.fail("reset")
    time.sleep(OUTAGE_SECONDS / 2)
    proxy.fail("slow_down")
    time.sleep(OUTAGE_SECONDS / 2)
    proxy.recover()


def _storage_retries(log: str) -> int:
    return log.count("retry: Retry in")


def test_ingest_rides_out_a_storage_outage(
    s3_bucket, storage_proxy, start_worker, creator, camera_photos, drill
):
    assets = [
        creator_services.asset_upload(
            creator=creator.creator_profile, upload=SimpleUploadedFile(name, content)
        )
        for name, content in camera_photos[:8]
    ]
    ids = [asset.pk for asset in assets]
    worker = start_worker(**s3_worker_settings(storage_proxy, **RIDE_OUT))
    until(lambda: MediaAsset.objects.filter(pk__in=ids, status=MediaAsset.Status.READY).exists(), worker)

    _outage(storage_proxy)
    recovered_at = time.monotonic()
    worker.wait_for(lambda: _unfinished(ids) == 0, timeout=60)
    recovery_seconds = time.monotonic() - recovered_at

    ingested = list(MediaAsset.objects.filter(pk__in=ids))
    assert {asset.status for asset in ingested} == {MediaAsset.Status.READY}
    # An attempt the outage ended was given back: the attempt counter is left for files that kill workers.
    assert {asset.ingest_attempts for asset in ingested} == {1}
    retries = _storage_retries(worker.log())
    assert retries > 0, worker.log()
    assert storage_proxy.reset_connections > 0 and storage_proxy.slowed_down_requests > 0
    stored = [str(f.name) for asset in ingested for f in (asset.original, asset.thumbnail, asset.preview)]
    assert s3_bucket.object_keys() == sorted(stored)  # nothing stored twice, nothing left behind
    drill.survived(
        f"ingest: S3 out for {OUTAGE_SECONDS} s ({storage_proxy.reset_connections} connections reset, "
        f"{storage_proxy.slowed_down_requests} requests answered 503 SlowDown), {retries} task retries with "
        f"backoff, {len(ids)} camera photos all ready {recovery_seconds:.0f} s after storage came back, "
        "no attempt counted against a photo, no object stored twice"
    )


def _unfinished(ids: list[int]) -> int:
    return MediaAsset.objects.filter(pk__in=ids).exclude(status__in=["ready", "rejected"]).count()


def test_a_build_rides_out_a_storage_outage(
    settings, s3_bucket, storage_proxy, start_worker, offered_dataset, tmp_path: Path, drill
):
    photos = [store_sellable(noise_photo(seed)) for seed in range(12)]
    dataset = offered_dataset(is_public=True)
    version = services.version_build_request(dataset=dataset, actor=None)
    worker = start_worker(
        DATASET_SHARD_BYTES=str(256 * 1024), **s3_worker_settings(storage_proxy, **RIDE_OUT)
    )
    until(lambda: version.files.filter(kind=BundleFile.Kind.SHARD).exists(), worker)

    _outage(storage_proxy)
    recovered_at = time.monotonic()
    worker.wait_for(lambda: _finished(version), timeout=60)
    recovery_seconds = time.monotonic() - recovered_at

    assert version.status == DatasetVersion.Status.PUBLISHED, version.failure_reason
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1
    retries = _storage_retries(worker.log())
    assert retries > 0, worker.log()
    indexes = sorted(version.files.filter(kind=BundleFile.Kind.SHARD).values_list("shard_index", flat=True))
    assert indexes == list(range(len(photos)))
    bundle_keys = [key for key in s3_bucket.object_keys() if key.startswith(build.STORAGE_PREFIX)]
    assert bundle_keys == sorted(version.files.values_list("storage_name", flat=True))  # no stray object
    verify_bundle(_download(version, tmp_path), load_public_key(public_key_pem(signing_key())))
    drill.survived(
        f"build: S3 out for {OUTAGE_SECONDS} s ({storage_proxy.reset_connections} connections reset, "
        f"{storage_proxy.slowed_down_requests} requests answered 503 SlowDown), {retries} task retries with "
        f"backoff, {version.build_attempts} attempts, published {recovery_seconds:.0f} s after storage came "
        f"back with {len(indexes)} shards each once, no stray object, signatures verified"
    )


def _finished(version: DatasetVersion) -> bool:
    version.refresh_from_db()
    return version.status in (DatasetVersion.Status.PUBLISHED, DatasetVersion.Status.FAILED)


def test_storage_that_stays_down_fails_ingest_and_build_with_the_reason(
    s3_bucket, storage_proxy, start_worker, creator, camera_photos, offered_dataset, drill
):
    name, content = camera_photos[0]
    asset = creator_services.asset_upload(
        creator=creator.creator_profile, upload=SimpleUploadedFile(name, content)
    )
    store_sellable(noise_photo(0))
    version = services.version_build_request(dataset=offered_dataset(), actor=None)
    storage_proxy.fail("reset")
    started = time.monotonic()
    worker = start_worker(
        **s3_worker_settings(storage_proxy, backoff_seconds="1", backoff_max_seconds="2", max="2")
    )

    worker.wait_for(lambda: _finished(version) and _unfinished([asset.pk]) == 0, timeout=60)
    gave_up_after = time.monotonic() - started

    asset.refresh_from_db()
    assert asset.status == MediaAsset.Status.REJECTED
    assert asset.rejection_reason.startswith("Our file storage was unavailable")
    assert "3 times in a row" in asset.rejection_reason
    assert version.status == DatasetVersion.Status.FAILED
    assert version.failure_reason.startswith("File storage was unavailable")
    assert "3 times in a row" in version.failure_reason
    drill.survived(
        f"storage down for good: ingest and build each tried 3 times with backoff, then failed with the "
        f"reason, {gave_up_after:.0f} s after the worker started; nothing hung"
    )
