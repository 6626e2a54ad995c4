import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets.models import Dataset
from datasets.selectors import version_statistics
from datasets.services import version_create
from licensing.models import SelfIdentification
from tests.factories import ConsentFactory, CreatorProfileFactory, MediaAssetFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def _captured(year: int) -> datetime.datetime:
    return datetime.datetime(year, 6, 1, 12, tzinfo=datetime.UTC)


def _sellable(consent: dict | None = None, **fields):
    asset = MediaAssetFactory(**fields)
    ConsentFactory(asset=asset, **(consent or {}))
    return asset


def _version():
    dataset = Dataset.objects.create(slug="mixed", title="Mixed", description="Photos and videos.")
    return version_create(dataset=dataset, actor=None)


@pytest.fixture
def creators():
    return (
        CreatorProfileFactory(country="FR"),
        CreatorProfileFactory(country="DE"),
        CreatorProfileFactory(country=""),
    )


def test_counts_samples_media_creators_and_bytes(creators):
    french, german, _ = creators
    _sellable(creator=french, original_bytes=100)
    _sellable(creator=french, original_bytes=200)
    _sellable(creator=german, kind="video", original_bytes=5000, duration_seconds=12)

    stats = version_statistics(version=_version())

    assert (stats.samples, stats.photos, stats.videos, stats.creators, stats.total_bytes) == (
        3,
        2,
        1,
        2,
        5300,
    )


def test_distributions_by_category_resolution_year_and_country(creators):
    french, german, unknown = creators
    _sellable(creator=french, category="street", resolution_class="4k", capture_time=_captured(2024))
    _sellable(creator=french, category="street", resolution_class="4k", capture_time=_captured(2025))
    _sellable(creator=german, category="food", resolution_class="hd", capture_time=None)
    _sellable(creator=unknown, category="street", resolution_class="", capture_time=_captured(2024))

    stats = version_statistics(version=_version())

    assert stats.categories == {"Street": 3, "Food": 1}
    assert stats.resolution_classes == {"4k": 2, "hd": 1, "unknown": 1}
    assert stats.capture_years == {"2024": 2, "2025": 1, "unknown": 1}
    assert stats.creator_countries == {"FR": 1, "DE": 1, "unknown": 1}
    assert (stats.capture_start, stats.capture_end) == (datetime.date(2024, 6, 1), datetime.date(2025, 6, 1))


def test_videos_are_bucketed_by_length():
    for seconds in (3, 9.9, 10, 45, 120, 301):
        _sellable(kind="video", duration_seconds=seconds)
    _sellable(kind="image")

    stats = version_statistics(version=_version())

    assert stats.durations == {"under 10 s": 2, "10-30 s": 1, "30-60 s": 1, "1-5 min": 1, "over 5 min": 1}


def test_consent_counts_each_use_allowed_and_constrained():
    _sellable()
    _sellable(
        consent={"ai_generative_training": "constrained", "ai_generative_training_constraint": "No styles."}
    )
    _sellable(consent={"ai_generative_training": "notAllowed"})

    stats = version_statistics(version=_version())

    assert stats.consent["ai_training"] == (3, 0)
    assert stats.consent["ai_generative_training"] == (1, 1)


def test_quality_percentiles_and_face_counts():
    for blur, exposure, faces in [
        (100.0, 0.2, 0),
        (200.0, 0.4, 1),
        (300.0, 0.6, 2),
        (400.0, 0.8, 5),
        (500.0, 1.0, 3),
    ]:
        # A reviewer found no identifiable person: no model release is needed for it to be sellable.
        _sellable(
            consent={"identifiable_people": 0}, blur_score=blur, exposure_mean=exposure, face_count=faces
        )

    stats = version_statistics(version=_version())

    assert stats.blur_percentiles == {
        10: pytest.approx(140.0),
        50: pytest.approx(300.0),
        90: pytest.approx(460.0),
    }
    assert stats.exposure_percentiles[50] == pytest.approx(0.6)
    assert stats.face_counts == {"0": 1, "1": 1, "2": 1, "3+": 2}


def test_self_identification_is_reported_only_above_the_k_anonymity_threshold():
    shown = [_sellable(face_count=1) for _ in range(6)]
    for index, asset in enumerate(shown):
        release = ReleaseFactory(creator=asset.creator, assets=[asset])
        SelfIdentification.objects.create(release=release, gender="Woman" if index < 5 else "Non-binary")

    stats = version_statistics(version=_version())

    assert stats.self_identification["gender"] == {"woman": 5}


def test_an_erased_asset_counts_as_a_sample_but_not_in_the_distributions():
    _sellable(category="street", original_bytes=100)
    erased = _sellable(category="food", original_bytes=50)
    version = _version()
    version.items.filter(asset=erased).update(asset=None)

    stats = version_statistics(version=version)

    assert (stats.samples, stats.total_bytes, stats.creators) == (2, 150, 2)
    assert stats.categories == {"Street": 1}
    assert stats.photos == 1
    assert stats.consent["ai_training"] == (2, 0)


def test_an_empty_distribution_has_no_percentiles_and_no_capture_dates():
    _sellable(blur_score=None, exposure_mean=None, capture_time=None)

    stats = version_statistics(version=_version())

    assert (stats.blur_percentiles, stats.exposure_percentiles) == ({}, {})
    assert (stats.capture_start, stats.capture_end) == (None, None)


def test_the_number_of_queries_does_not_grow_with_the_items():
    for _ in range(30):
        _sellable()
    version = _version()

    with CaptureQueriesContext(connection) as queries:
        version_statistics(version=version)

    assert len(queries) <= 5  # totals, rows, and one per self-identification field
