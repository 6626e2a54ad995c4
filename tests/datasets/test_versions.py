import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError

from core.transitions import transition
from creators.models import DuplicateFlag
from datasets.models import Dataset, DatasetVersion, Offer
from datasets.selectors import dataset_candidates, dataset_selection, selection_statistics
from datasets.services import (
    creator_pseudonym,
    version_build_request,
    version_build_start,
    version_create,
    version_fail,
    version_items_no_longer_sellable,
    version_publish,
    version_withdraw,
    versions_replace,
)
from licensing.models import LicenseTerms
from licensing.services import consents_withdraw, release_revoke
from tests.factories import (
    ConsentFactory,
    CreatorProfileFactory,
    MediaAssetFactory,
    ReleaseFactory,
    ReviewerFactory,
)

pytestmark = pytest.mark.django_db


def _sellable(**fields):
    asset = MediaAssetFactory(**fields)
    ConsentFactory(asset=asset)
    return asset


def _dataset(**fields) -> Dataset:
    return Dataset.objects.create(
        slug="street-2026", title="Street 2026", description="Street photos.", **fields
    )


def test_candidates_are_the_sellable_assets_the_filters_match():
    wide = _sellable(category="street", width=4000, height=3000)
    _sellable(category="food", width=4000, height=3000)
    _sellable(category="street", width=800, height=600)
    MediaAssetFactory(category="street")  # no consent: not sellable

    dataset = _dataset(categories=["street"], min_width=2000)

    assert list(dataset_candidates(dataset=dataset)) == [wide]


def test_a_manual_include_adds_a_sellable_asset_and_an_exclude_always_wins():
    kept, included, excluded = (
        _sellable(category="street"),
        _sellable(category="food"),
        _sellable(category="street"),
    )
    unsellable = MediaAssetFactory(category="food")
    dataset = _dataset(categories=["street"])
    dataset.included_assets.set([included, unsellable])
    dataset.excluded_assets.set([excluded])

    assert set(dataset_candidates(dataset=dataset)) == {kept, included}


def test_required_uses_and_license_tiers_narrow_the_candidates():
    generative = _sellable()
    no_generative = MediaAssetFactory()
    ConsentFactory(asset=no_generative, ai_generative_training="notAllowed")
    dataset = _dataset(required_uses=["ai_training"])
    assert set(dataset_candidates(dataset=dataset)) == {generative, no_generative}

    dataset.license_terms.set(
        [LicenseTerms.objects.get(slug="commercial-generative")], through_defaults={"price_cents": 50_000}
    )

    assert list(dataset_candidates(dataset=dataset)) == [generative]


def test_of_two_look_alikes_the_larger_sharper_one_is_kept():
    small = _sellable(width=1000, height=800, blur_score=300.0)
    large = _sellable(width=4000, height=3000, blur_score=100.0)
    DuplicateFlag.objects.create(asset=small, other=large, kind="near", distance=3, cross_account=False)
    DuplicateFlag.objects.create(asset=large, other=small, kind="near", distance=3, cross_account=False)
    dataset = _dataset()

    assert dataset_selection(dataset=dataset) == [large]
    dataset.exclude_near_duplicates = False
    assert dataset_selection(dataset=dataset) == [small, large]


def test_statistics_describe_the_selection():
    creator = CreatorProfileFactory()
    assets = [
        _sellable(creator=creator, category="street", resolution_class="12mp"),
        _sellable(creator=creator, category="street", resolution_class="12mp"),
        _sellable(category="food", kind="video", original_bytes=5000),
    ]

    stats = selection_statistics(assets=assets)

    assert (stats.count, stats.photos, stats.videos, stats.creators, stats.total_bytes) == (3, 2, 1, 2, 7000)
    assert stats.categories == {"Street": 2, "Food": 1}


def test_a_version_freezes_each_item_with_its_consent_and_releases():
    face = _sellable(face_count=1)
    release = ReleaseFactory(creator=face.creator, assets=[face])
    plain = _sellable()

    version = version_create(dataset=_dataset(), actor=None)

    items = {item.asset_id: item for item in version.items.all()}
    assert (version.number, version.status, version.item_count) == (1, "draft", 2)
    assert items[face.pk].release_ids == [str(release.public_id)]
    assert items[face.pk].consent_id == face.consents.get().public_id
    assert items[plain.pk].uses["ai_training"] == {"permission": "allowed", "constraint": ""}
    assert items[plain.pk].key == plain.public_id.hex
    assert items[plain.pk].creator_pseudonym == creator_pseudonym(plain.creator_id) != str(plain.creator_id)


def test_versions_are_numbered_one_after_another():
    _sellable()
    dataset = _dataset()

    assert [version_create(dataset=dataset, actor=None).number for _ in range(3)] == [1, 2, 3]


def test_a_withdrawn_asset_is_not_frozen_into_a_version(creator):
    kept = _sellable()
    withdrawn = _sellable()
    consents_withdraw(asset_ids=[withdrawn.pk], actor=withdrawn.creator.user)

    version = version_create(dataset=_dataset(), actor=None)

    assert [item.asset_id for item in version.items.all()] == [kept.pk]


def test_nothing_sellable_is_refused_without_a_version():
    MediaAssetFactory()

    with pytest.raises(ValidationError, match="No sellable photo or video"):
        version_create(dataset=_dataset(), actor=None)
    assert not DatasetVersion.objects.exists()


def test_the_seal_check_names_items_withdrawn_or_revoked_after_the_freeze(reviewer):
    kept, withdrawn, revoked = _sellable(), _sellable(), _sellable(face_count=1)
    release = ReleaseFactory(creator=revoked.creator, assets=[revoked])
    version = version_create(dataset=_dataset(), actor=None)
    positions = {item.asset_id: item.position for item in version.items.all()}

    consents_withdraw(asset_ids=[withdrawn.pk], actor=reviewer)
    release_revoke(release=release, actor=reviewer, reason="The model withdrew.")

    assert version_items_no_longer_sellable(version=version) == sorted(
        [positions[withdrawn.pk], positions[revoked.pk]]
    )
    assert kept.pk in positions


def test_one_version_of_a_dataset_builds_at_a_time():
    _sellable()
    dataset = _dataset()
    first, second = version_create(dataset=dataset, actor=None), version_create(dataset=dataset, actor=None)
    version_build_start(version=first)

    with pytest.raises(ValidationError, match="Another version of this dataset is building"):
        version_build_start(version=second)
    with pytest.raises(IntegrityError):
        DatasetVersion.objects.filter(pk=second.pk).update(status="building")


def test_a_failed_build_can_start_again_and_counts_its_attempts():
    _sellable()
    version = version_create(dataset=_dataset(), actor=None)
    version_build_start(version=version)
    version_fail(version=version, reason="Storage unreachable.")

    again = version_build_start(version=version)

    assert (again.status, again.build_attempts, again.failure_reason) == ("building", 2, "")


def _published(dataset: Dataset) -> DatasetVersion:
    version = version_create(dataset=dataset, actor=None)
    version_build_start(version=version)
    return version_publish(version=version)


def _on_sale(dataset: Dataset) -> tuple[int | None, object]:
    dataset.refresh_from_db()
    return dataset.version_on_sale_id, dataset.on_sale_since


def test_the_dataset_keeps_its_newest_published_version_on_sale():
    _sellable()
    dataset = _dataset()
    assert _on_sale(dataset) == (None, None)

    first = _published(dataset)
    assert _on_sale(dataset) == (first.pk, first.published_at)

    second = _published(dataset)
    assert _on_sale(dataset) == (second.pk, second.published_at)


def test_a_withdrawn_version_leaves_nothing_on_sale():
    _sellable()
    dataset = _dataset()
    version = _published(dataset)

    version_withdraw(version=version, reason="Mislabelled.")

    assert _on_sale(dataset) == (None, None)


def test_a_superseded_version_is_off_sale_until_its_replacement_is_published(creator):
    asset = _sellable()
    _sellable()
    dataset = _dataset()
    Offer.objects.create(dataset=dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=5_000)
    _published(dataset)
    consents_withdraw(asset_ids=[asset.pk], actor=asset.creator.user, reason="Changed my mind.")

    # Off sale in the withdrawal's own transaction; the replacement follows through the outbox.
    assert _on_sale(dataset) == (None, None)
    superseded = DatasetVersion.objects.get(status=DatasetVersion.Status.SUPERSEDED)
    (replacement,) = versions_replace(version_ids=[superseded.pk], asset_ids=[asset.pk])
    version_build_start(version=replacement)
    version_publish(version=replacement)
    assert _on_sale(dataset)[0] == replacement.pk


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (start, target)
        for start in DatasetVersion.Status.values
        for target in DatasetVersion.Status.values
        if target not in DatasetVersion.TRANSITIONS[start]
    ],
)
def test_a_version_refuses_every_move_its_state_machine_does_not_allow(start, target):
    version = DatasetVersion(number=1, status=start)

    with pytest.raises(ValidationError) as refused:
        transition(version, target, subject="Version 1")
    assert refused.value.code == "invalid_transition"
    assert version.status == start


def test_a_reviewer_cannot_build_a_version_holding_their_own_work(reviewer):
    _sellable(creator=CreatorProfileFactory(user=reviewer))
    _sellable()
    dataset = _dataset()
    Offer.objects.create(dataset=dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=5_000)

    with pytest.raises(PermissionDenied, match="1 of your own asset:"):
        version_build_request(dataset=dataset, actor=reviewer)

    assert not DatasetVersion.objects.exists()
    # Another reviewer can.
    assert version_build_request(dataset=dataset, actor=ReviewerFactory()).item_count == 2
