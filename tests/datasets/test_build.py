"""The bundle build, run in process against the real database and storage."""

import hashlib
import json
import re
import shutil
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import webdataset as wds
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from datasets import build, services
from datasets.models import BundleFile, DatasetVersion, Delivery, Revocation
from datasets.packaging.checksums import load_public_key, public_key_pem, verify_bundle
from datasets.signing_key import signing_key
from licensing.models import Consent
from licensing.services import consents_withdraw
from tests.datasets.conftest import publish_first_version
from tests.datasets.packaging.test_readme import _run, _snippet
from tests.media_corpus import noise_video

pytestmark = pytest.mark.django_db


def _built(dataset, **options) -> DatasetVersion:
    version = services.version_create(dataset=dataset, actor=None, **options)
    build.version_build(version_id=version.pk)
    version.refresh_from_db()
    return version


def _download(version: DatasetVersion, root: Path) -> Path:
    """The bundle as a buyer has it: every file from storage, under `<slug>-v<N>/`."""
    bundle = root / version.name
    for file in version.files.all():
        target = bundle / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(file.storage_name, "rb") as stored, target.open("wb") as local:
            shutil.copyfileobj(stored, local)
    return bundle


def _shard_keys(bundle: Path) -> list[str]:
    shards = sorted(str(path) for path in (bundle / "shards").glob("*.tar"))
    return [sample["__key__"] for sample in wds.WebDataset(shards, shardshuffle=False)]


def _keys(assets) -> list[str]:
    return [asset.public_id.hex for asset in assets]


def test_a_build_publishes_a_signed_bundle_every_loader_reads(
    settings, tmp_path, offered_dataset, sellable_photo, sellable_video
):
    settings.DATASET_SHARD_BYTES = 8 * 1024  # a few samples a shard
    photos = [sellable_photo() for _ in range(5)]
    videos = [sellable_video()]
    version = _built(offered_dataset())

    assert version.status == DatasetVersion.Status.PUBLISHED
    assert (version.items_done, version.item_count, version.bytes_done) == (6, 6, version.total_bytes)
    bundle = _download(version, tmp_path)
    names = {path.relative_to(bundle).as_posix() for path in bundle.rglob("*") if path.is_file()}
    assert {"README.md", "DATASHEET.md", "croissant.json", "manifest.parquet", "manifest.jsonl",
            "LICENSE.txt", "SHA256SUMS", "SHA256SUMS.sig"} < names  # fmt: skip
    assert "shards/city-life-v1-photos-000001.tar" in names
    assert "shards/city-life-v1-videos-000000.tar" in names
    assert version.shards_done == len([name for name in names if name.startswith("shards/")])
    verify_bundle(bundle, load_public_key(public_key_pem(signing_key())))
    assert sorted(_shard_keys(bundle)) == sorted(_keys(photos + videos))
    # Each sample's json is its manifest line, byte for byte.
    lines = (bundle / "manifest.jsonl").read_bytes().splitlines()
    samples = wds.WebDataset(sorted(str(p) for p in (bundle / "shards").glob("*.tar")), shardshuffle=False)
    assert sorted(sample["json"] for sample in samples) == sorted(lines)
    row = json.loads(lines[0])
    assert row["license_terms"] == ["research/2", "commercial/2"]


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum is missing")
def test_one_changed_byte_in_a_shard_fails_sha256sum(tmp_path, offered_dataset, sellable_photo):
    sellable_photo()
    bundle = _download(_built(offered_dataset()), tmp_path)
    check = ["sha256sum", "--quiet", "-c", "SHA256SUMS"]
    assert subprocess.run(check, cwd=bundle, capture_output=True, check=False).returncode == 0

    shard = next((bundle / "shards").glob("*.tar"))
    data = bytearray(shard.read_bytes())
    data[700] ^= 1
    shard.write_bytes(bytes(data))

    assert subprocess.run(check, cwd=bundle, capture_output=True, check=False).returncode != 0


def test_a_build_that_dies_resumes_after_its_last_stored_shard(settings, offered_dataset, sellable_photo):
    settings.DATASET_SHARD_BYTES = 4 * 1024  # one sample a shard
    _, _, third = (sellable_photo() for _ in range(3))
    dataset = offered_dataset()
    publish_first_version(dataset)  # makes the delivery files, which the next version reuses
    version = services.version_create(dataset=dataset, actor=None)
    # The third delivery file goes missing: the attempt fails after the second sample closed the first shard.
    missing = Delivery.objects.get(asset=third).storage_name
    content = default_storage.open(missing).read()
    default_storage.delete(missing)

    with pytest.raises(FileNotFoundError):
        build.version_build(version_id=version.pk)

    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.BUILDING
    assert version.build_token is None  # released, so the retry need not wait for the lease
    (kept,) = version.files.filter(kind=BundleFile.Kind.SHARD)
    assert (kept.shard_index, version.items_done, version.shards_done) == (0, 1, 1)

    default_storage.save(missing, ContentFile(content))
    build.version_build(version_id=version.pk)

    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.PUBLISHED
    assert version.build_attempts == 2
    shards = list(version.files.filter(kind=BundleFile.Kind.SHARD).order_by("shard_index"))
    assert shards[0].pk == kept.pk  # not written again
    assert [shard.shard_index for shard in shards] == [0, 1, 2]


def test_shards_written_before_delivery_files_existed_are_written_again(
    settings, tmp_path, offered_dataset, sellable_photo, django_capture_on_commit_callbacks
):
    settings.DATASET_SHARD_BYTES = 4 * 1024  # one sample a shard
    photos = [sellable_photo() for _ in range(3)]
    version = services.version_create(dataset=offered_dataset(), actor=None)
    # An attempt from before renditions: a shard of an upload's own bytes, recorded, and no delivery files.
    old = default_storage.save("bundles/old/photos-000000.tar", ContentFile(photos[0].original.read()))
    shard = BundleFile.objects.create(
        version=version, kind=BundleFile.Kind.SHARD, series="photos", shard_index=0, last_position=0,
        path="shards/city-life-v1-photos-000000.tar", storage_name=old, byte_size=1, sha256="0" * 64,
    )  # fmt: skip
    DatasetVersion.objects.filter(pk=version.pk).update(status="building", items_done=1, shards_done=1)

    with django_capture_on_commit_callbacks(execute=True):
        build.version_build(version_id=version.pk)

    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.PUBLISHED
    assert not BundleFile.objects.filter(pk=shard.pk).exists()
    assert not default_storage.exists(old)
    bundle = _download(version, tmp_path)
    for sample in wds.WebDataset(
        sorted(str(p) for p in (bundle / "shards").glob("*.tar")), shardshuffle=False
    ):
        delivery = Delivery.objects.get(asset__public_id=uuid.UUID(sample["__key__"]))
        assert hashlib.sha256(sample["jpg"]).hexdigest() == delivery.sha256


def test_a_build_that_dies_making_delivery_files_resumes_after_the_last_one_made(
    offered_dataset, sellable_photo
):
    first, second = sellable_photo(), sellable_photo()
    version = services.version_create(dataset=offered_dataset(), actor=None)
    content = default_storage.open(second.original.name).read()
    default_storage.delete(second.original.name)

    with pytest.raises(FileNotFoundError):
        build.version_build(version_id=version.pk)

    made = Delivery.objects.get(asset=first)
    assert list(version.items.values_list("delivery", flat=True).order_by("position")) == [made.pk, None]
    default_storage.save(second.original.name, ContentFile(content))
    build.version_build(version_id=version.pk)

    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.PUBLISHED
    assert Delivery.objects.get(asset=first).pk == made.pk  # found, not made again
    assert Delivery.objects.filter(asset=second).exists()


def test_an_attempt_does_not_start_while_another_holds_the_lease(offered_dataset, sellable_photo):
    sellable_photo()
    version = services.version_create(dataset=offered_dataset(), actor=None)
    held = build._claim(version.pk)
    assert held is not None

    assert build._claim(version.pk) is None

    DatasetVersion.objects.filter(pk=version.pk).update(progress_at=timezone.now() - timedelta(hours=1))
    assert build._claim(version.pk) is not None  # the holder stopped showing progress: taken over


def test_an_attempt_that_lost_its_lease_stops_without_writing(offered_dataset, sellable_photo):
    sellable_photo()
    version = services.version_create(dataset=offered_dataset(), actor=None)
    attempt = build._claim(version.pk)
    DatasetVersion.objects.filter(pk=version.pk).update(build_token=uuid.uuid4())

    with pytest.raises(build.LeaseLost):
        attempt.heartbeat(force=True, items_done=1)


def test_a_build_that_keeps_dying_before_a_shard_is_failed_with_the_reason(offered_dataset, sellable_photo):
    sellable_photo()
    version = services.version_create(dataset=offered_dataset(), actor=None)
    for _ in range(build.MAX_STALLED_ATTEMPTS):
        assert build._claim(version.pk) is not None
        DatasetVersion.objects.filter(pk=version.pk).update(build_token=None)  # as if killed

    assert build._claim(version.pk) is None
    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.FAILED
    assert "stopped 5 times in a row" in version.failure_reason

    services.version_build_retry(version=version)  # the retry starts counting again
    version.refresh_from_db()
    assert version.stalled_attempts == 0


def test_only_builds_whose_lease_ran_out_are_resumed(settings, offered_dataset, sellable_photo):
    sellable_photo()
    live = services.version_create(dataset=offered_dataset(), actor=None)
    build._claim(live.pk)
    sellable_photo()
    dead = services.version_create(dataset=offered_dataset(slug="dead"), actor=None)
    build._claim(dead.pk)
    DatasetVersion.objects.filter(pk=dead.pk).update(progress_at=timezone.now() - timedelta(hours=1))
    settings.CELERY_TASK_ALWAYS_EAGER = False

    assert build.versions_resume_stalled() == 1


def test_an_item_withdrawn_before_the_build_is_never_written(offered_dataset, sellable_photo, tmp_path):
    kept, withdrawn = sellable_photo(), sellable_photo()
    version = services.version_create(dataset=offered_dataset(), actor=None)
    consents_withdraw(asset_ids=[withdrawn.pk], actor=withdrawn.creator.user, reason="Changed my mind.")

    build.version_build(version_id=version.pk)

    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.PUBLISHED
    assert version.item_count == 1
    assert _shard_keys(_download(version, tmp_path)) == _keys([kept])


def test_an_item_withdrawn_while_the_shards_are_written_is_dropped_when_sealing(
    settings, monkeypatch, offered_dataset, sellable_photo, tmp_path
):
    settings.DATASET_SHARD_BYTES = 4 * 1024  # one sample a shard
    photos = [sellable_photo() for _ in range(4)]
    version = services.version_create(dataset=offered_dataset(), actor=None)
    write_documents = build._write_documents
    withdrawals = iter([photos[1]])

    def withdraw_then_write(*args, **kwargs):
        # A withdrawal commits after the shards holding the photo were stored, before the seal.
        for asset in withdrawals:
            consents_withdraw(asset_ids=[asset.pk], actor=asset.creator.user, reason="No longer.")
        return write_documents(*args, **kwargs)

    monkeypatch.setattr(build, "_write_documents", withdraw_then_write)
    build.version_build(version_id=version.pk)

    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.PUBLISHED
    bundle = _download(version, tmp_path)
    assert sorted(_shard_keys(bundle)) == sorted(_keys([photos[0], *photos[2:]]))
    assert photos[1].public_id.hex.encode() not in (bundle / "manifest.jsonl").read_bytes()
    # The first shard did not hold it and was kept; the ones from it on were written again.
    assert version.files.filter(kind=BundleFile.Kind.SHARD).count() == 3
    verify_bundle(bundle, load_public_key(public_key_pem(signing_key())))


def test_a_withdrawal_after_publishing_supersedes_the_version_and_records_the_revocation(
    offered_dataset, sellable_photo
):
    _kept, withdrawn = sellable_photo(), sellable_photo()
    version = _built(offered_dataset())
    withdrawn_at = timezone.now()

    Consent.objects.filter(asset=withdrawn).update(status=Consent.Status.WITHDRAWN)

    superseded = services.versions_take_off_sale(
        asset_ids=[withdrawn.pk], reason="Consent withdrawn by the creator.", withdrawn_at=withdrawn_at
    )
    again = services.versions_take_off_sale(
        asset_ids=[withdrawn.pk], reason="Consent withdrawn by the creator.", withdrawn_at=withdrawn_at
    )
    # The replacement follows through the outbox, as its task would run it.
    services.versions_replace(version_ids=[version.pk], asset_ids=[withdrawn.pk])

    assert superseded == [version] and again == []
    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.SUPERSEDED
    (revocation,) = Revocation.objects.all()
    assert revocation.sample_keys == [withdrawn.public_id.hex]
    replacement = version.superseded_by
    assert revocation.replacement == replacement
    assert replacement.status == DatasetVersion.Status.DRAFT


def test_a_withdrawal_deletes_the_assets_delivery_files_and_the_shards_keep_theirs(
    tmp_path, offered_dataset, sellable_photo, django_capture_on_commit_callbacks
):
    kept, withdrawn = sellable_photo(), sellable_photo()
    version = _built(offered_dataset())
    (doomed,) = Delivery.objects.filter(asset=withdrawn)

    with django_capture_on_commit_callbacks(execute=True):
        services.versions_replace(version_ids=[version.pk], asset_ids=[withdrawn.pk])

    assert not Delivery.objects.filter(asset=withdrawn).exists()
    assert not default_storage.exists(doomed.storage_name)
    assert default_storage.exists(Delivery.objects.get(asset=kept).storage_name)
    assert sorted(_shard_keys(_download(version, tmp_path))) == sorted(_keys([kept, withdrawn]))


def test_withdrawing_consent_reaches_the_published_version_through_the_signal(
    django_capture_on_commit_callbacks, settings, offered_dataset, sellable_photo
):
    from marketplace.celery import app

    photo = sellable_photo()
    sellable_photo()
    version = _built(offered_dataset())
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            consents_withdraw(asset_ids=[photo.pk], actor=photo.creator.user, reason="Changed my mind.")
    finally:
        app.conf.task_always_eager = False

    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.SUPERSEDED
    assert Revocation.objects.get(version=version).sample_keys == [photo.public_id.hex]


def test_publishing_a_version_replaces_the_one_on_sale(offered_dataset, sellable_photo):
    sellable_photo()
    dataset = offered_dataset()
    first = _built(dataset)
    sellable_photo()

    second = _built(dataset)

    first.refresh_from_db()
    assert second.status == DatasetVersion.Status.PUBLISHED
    assert first.status == DatasetVersion.Status.SUPERSEDED
    assert first.end_reason == "Replaced by version 2."


@pytest.mark.django_db(transaction=True)
def test_the_command_builds_with_a_progress_bar(offered_dataset, sellable_photo, capsys):
    sellable_photo()
    offered_dataset()

    call_command("build_dataset", "city-life", "--here")

    output = capsys.readouterr().out
    assert "city-life-v1: 1 items" in output
    assert "100.0%" in output
    assert "city-life-v1 is published (1 shards)." in output


def test_the_command_names_an_unknown_dataset():
    with pytest.raises(CommandError, match="No dataset is called 'nope'"):
        call_command("build_dataset", "nope")


def test_the_built_croissant_validates_and_loads_every_manifest_row(
    tmp_path, offered_dataset, sellable_photo, sellable_video
):
    mlc = pytest.importorskip("mlcroissant")
    sellable_photo(), sellable_photo(), sellable_video()
    bundle = _download(_built(offered_dataset()), tmp_path)

    dataset = mlc.Dataset(jsonld=bundle / "croissant.json")
    keys = [record["samples/key"].decode() for record in dataset.records("samples")]

    assert dataset.metadata.ctx.issues.errors == set()
    assert sorted(keys) == sorted(json.loads(line)["key"] for line in (bundle / "manifest.jsonl").open())


def test_hugging_face_datasets_loads_a_built_bundle_as_its_readme_says(
    tmp_path, buyer_python, offered_dataset, sellable_photo, sellable_video
):
    photos = [sellable_photo(), sellable_photo()]
    video = sellable_video()
    bundle = _download(_built(offered_dataset()), tmp_path)
    readme = (bundle / "README.md").read_text()

    result = _run(_snippet(readme, "load_dataset"), bundle, python=buyer_python)

    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    assert printed[0].split()[0] in _keys(photos)
    assert printed[1].split()[0] == video.public_id.hex


def test_on_s3_each_shard_is_uploaded_in_parts_and_the_bundle_verifies(
    s3_bucket, settings, tmp_path, offered_dataset
):
    from tests.datasets.conftest import store_sellable

    settings.DATASET_SHARD_BYTES = 32 * 1024 * 1024
    # Over boto3's 8 MB multipart threshold: noise, which no encoder can make small.
    large = store_sellable(
        noise_video(tmp_path / "noise.mp4", 9 * 1024 * 1024).read_bytes(), kind="video", mime="video/mp4"
    )
    version = _built(offered_dataset())

    (shard,) = version.files.filter(kind=BundleFile.Kind.SHARD)
    assert shard.storage_name == f"bundles/{version.public_id}/shards/city-life-v1-videos-000000.tar"
    etag = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=shard.storage_name)["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}-\d+"', etag)  # S3's mark of a multipart upload
    bundle = _download(version, tmp_path)
    verify_bundle(bundle, load_public_key(public_key_pem(signing_key())))
    assert _shard_keys(bundle) == _keys([large])


def test_a_dataset_offered_under_no_tier_is_not_built(offered_dataset, sellable_photo):
    sellable_photo()
    dataset = offered_dataset()
    dataset.offers.all().delete()

    with pytest.raises(ValidationError, match="Set a price for at least one license tier"):
        services.version_build_request(dataset=dataset, actor=None)

    assert not dataset.versions.exists()


def test_the_signature_verifies_with_the_key_the_site_publishes(
    client, tmp_path, offered_dataset, sellable_photo
):
    sellable_photo()
    bundle = _download(_built(offered_dataset()), tmp_path)

    response = client.get("/signing-key.pem")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    verify_bundle(bundle, load_public_key(response.content))


def test_each_terms_version_bundles_cite_has_its_page(client, offered_dataset, sellable_photo, tmp_path):
    sellable_photo()
    bundle = _download(_built(offered_dataset()), tmp_path)
    cited = re.findall(r"http://localhost:8000(/licenses/[a-z-]+/\d+/)", (bundle / "LICENSE.txt").read_text())

    assert cited == ["/licenses/research/2/", "/licenses/commercial/2/"]
    for path in cited:
        response = client.get(path)
        assert response.status_code == 200
        assert "Research" in response.text or "Commercial" in response.text
    assert client.get("/licenses/research/99/").status_code == 404


def test_a_withdrawal_whose_task_never_ran_is_caught_by_the_periodic_check(offered_dataset, sellable_photo):
    photo = sellable_photo()
    sellable_photo()
    version = _built(offered_dataset())
    # A withdrawal that reached the table by a path that announced nothing (a repair by hand, say).
    Consent.objects.filter(asset=photo).update(status=Consent.Status.WITHDRAWN)

    assert services.versions_supersede_missed() == 1
    assert services.versions_supersede_missed() == 0

    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.SUPERSEDED
    assert list(Revocation.objects.values_list("sample_keys", flat=True)) == [[photo.public_id.hex]]


def test_the_same_withdrawal_seen_by_the_task_and_the_check_is_revoked_once(offered_dataset, sellable_photo):
    photo = sellable_photo()
    sellable_photo()
    version = _built(offered_dataset())
    consents_withdraw(asset_ids=[photo.pk], actor=photo.creator.user, reason="Changed my mind.")
    DatasetVersion.objects.filter(pk=version.pk).update(
        status=DatasetVersion.Status.PUBLISHED
    )  # a late check

    services.versions_take_off_sale(
        asset_ids=[photo.pk], reason="Checked again.", withdrawn_at=timezone.now()
    )

    assert Revocation.objects.filter(version=version).count() == 1
