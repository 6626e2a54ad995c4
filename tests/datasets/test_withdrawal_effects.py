"""What a withdrawal, a narrowing and an erasure do to versions on sale and to the files the site serves."""

import tarfile

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from datasets import build, services
from datasets.models import BundleFile, Dataset, DatasetVersion, VersionItem
from datasets.selectors import version_files_servable
from licensing.models import AuditEvent, LicenseTerms, Permission, Use
from licensing.services import UsePermission, assets_erase, consents_give, consents_withdraw
from tests.datasets.conftest import publish_first_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_shards(settings):  # type: ignore[no-untyped-def]
    settings.DATASET_SHARD_BYTES = 8 * 1024  # a few samples a shard


def _shards(version: DatasetVersion) -> dict[str, BundleFile]:
    """The shard holding each sample, read from the tar files themselves."""
    holding = {}
    for shard in version.files.filter(kind=BundleFile.Kind.SHARD):
        with default_storage.open(shard.storage_name, "rb") as stored, tarfile.open(fileobj=stored) as tar:
            holding |= {member.name.split(".", 1)[0]: shard for member in tar.getmembers()}
    return holding


def test_a_withdrawal_takes_the_version_off_sale_before_its_transaction_commits(
    offered_dataset, sellable_photo, django_capture_on_commit_callbacks
):
    withdrawn, _kept = sellable_photo(), sellable_photo()
    version = publish_first_version(offered_dataset())

    with django_capture_on_commit_callbacks():
        consents_withdraw(asset_ids=[withdrawn.pk], actor=withdrawn.creator.user)
        # Still inside the withdrawal's transaction: no window for an order.
        version.refresh_from_db()
        assert version.status == DatasetVersion.Status.SUPERSEDED
        assert Dataset.objects.get(pk=version.dataset_id).version_on_sale_id is None


def test_a_narrowing_supersedes_only_the_versions_that_needed_what_was_removed(
    sellable_photo, offered_dataset
):
    asset = sellable_photo()
    generative = publish_first_version(
        offered_dataset("portraits", required_uses=[Use.GENERATIVE_AI_TRAINING])
    )
    mining = publish_first_version(offered_dataset("street", required_uses=[Use.DATA_MINING]))

    consents_give(
        creator=asset.creator,
        asset_ids=[asset.pk],
        permissions={
            **{use: UsePermission(Permission.ALLOWED) for use in Use.values},
            Use.GENERATIVE_AI_TRAINING: UsePermission(Permission.NOT_ALLOWED),
        },
        terms=LicenseTerms.objects.all(),
        actor=asset.creator.user,
    )

    generative.refresh_from_db()
    mining.refresh_from_db()
    assert generative.status == DatasetVersion.Status.SUPERSEDED
    assert mining.status == DatasetVersion.Status.PUBLISHED
    assert list(generative.revocations.values_list("sample_keys", flat=True)) == [[asset.public_id.hex]]
    assert not mining.revocations.exists()


def test_a_broader_consent_supersedes_nothing(sellable_photo, offered_dataset):
    asset = sellable_photo()
    version = publish_first_version(offered_dataset())

    consents_give(
        creator=asset.creator,
        asset_ids=[asset.pk],
        permissions={use: UsePermission(Permission.ALLOWED) for use in Use.values},
        terms=LicenseTerms.objects.all(),
        actor=asset.creator.user,
    )

    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.PUBLISHED and not version.revocations.exists()


def test_holders_get_every_shard_but_the_withdrawn_samples_until_the_replacement_is_published(
    small_shards, offered_dataset, sellable_photo
):
    withdrawn, *others = [sellable_photo() for _ in range(6)]
    version = publish_first_version(offered_dataset())
    shards = _shards(version)
    kept = next(other for other in others if shards[other.public_id.hex] != shards[withdrawn.public_id.hex])

    consents_withdraw(asset_ids=[withdrawn.pk], actor=withdrawn.creator.user)

    served = set(version_files_servable(version=version))
    assert shards[withdrawn.public_id.hex] not in served
    assert shards[kept.public_id.hex] in served
    assert version.files.get(path="manifest.parquet") in served

    (replacement,) = services.versions_replace(version_ids=[version.pk], asset_ids=[withdrawn.pk])
    build.version_build(version_id=replacement.pk)
    replacement.refresh_from_db()
    assert replacement.status == DatasetVersion.Status.PUBLISHED
    assert not version_files_servable(version=version).exists()
    assert version_files_servable(version=replacement).count() == replacement.files.count()


def test_an_erasure_deletes_the_shards_and_manifests_that_held_the_asset_and_records_when(
    small_shards, offered_dataset, sellable_photo, django_capture_on_commit_callbacks
):
    erased, *others = [sellable_photo() for _ in range(6)]
    version = publish_first_version(offered_dataset())
    shards = _shards(version)
    kept = next(other for other in others if shards[other.public_id.hex] != shards[erased.public_id.hex])
    doomed = [
        shards[erased.public_id.hex].storage_name,
        version.files.get(path="manifest.jsonl").storage_name,
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assets_erase(asset_ids=[erased.pk], actor=erased.creator.user)
    with django_capture_on_commit_callbacks(execute=True):
        # What the task queued by the erasure does once it commits.
        assert services.versions_purge_erased(asset_ids=[erased.pk]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.versions_purge_erased() == 0  # the periodic sweep finds nothing left

    assert not any(default_storage.exists(name) for name in doomed)
    assert default_storage.exists(shards[kept.public_id.hex].storage_name)
    paths = set(version.files.values_list("path", flat=True))
    assert {"manifest.parquet", "manifest.jsonl"}.isdisjoint(paths)
    assert VersionItem.objects.get(version=version, asset=erased).purged_at is not None
    event = AuditEvent.objects.get(action="version.erased_samples_purged")
    assert event.after["samples"] == [erased.public_id.hex]
    assert event.occurred_at <= timezone.now()
