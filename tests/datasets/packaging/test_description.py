import fnmatch

import pytest

from datasets.packaging.description import SHARD_SERIES, BundleFile, shard_pattern, shard_prefix
from tests.datasets.packaging.test_croissant import make_description


def test_a_shard_prefix_names_the_bundle_and_the_series():
    assert [shard_prefix("city-portraits-v2", series) for series in SHARD_SERIES] == [
        "city-portraits-v2-photos",
        "city-portraits-v2-photos-png",
        "city-portraits-v2-videos",
        "city-portraits-v2-videos-webm",
    ]
    assert shard_pattern("city-portraits-v2", "videos") == "shards/city-portraits-v2-videos-[0-9]*.tar"


def test_a_series_pattern_leaves_out_the_series_whose_name_extends_it():
    photos = shard_pattern("city-portraits-v2", "photos")

    assert fnmatch.fnmatch("shards/city-portraits-v2-photos-000000.tar", photos)
    assert not fnmatch.fnmatch("shards/city-portraits-v2-photos-png-000000.tar", photos)


def test_an_unknown_shard_series_is_refused():
    with pytest.raises(ValueError, match="unknown shard series 'audio'"):
        shard_prefix("city-portraits-v2", "audio")


def test_the_shards_are_grouped_by_series_in_series_order():
    description = make_description(shards=tuple(reversed(make_description().shards)))

    assert {
        series: [shard.name for shard in shards] for series, shards in description.shard_series().items()
    } == {
        "photos": [
            "shards/city-portraits-v2-photos-000001.tar",
            "shards/city-portraits-v2-photos-000000.tar",
        ],
        "videos": ["shards/city-portraits-v2-videos-000000.tar"],
    }
    assert list(description.shard_series()) == ["photos", "videos"]


def test_a_series_without_shards_is_left_out():
    assert list(make_description(shards=make_description().shards[2:]).shard_series()) == ["videos"]


@pytest.mark.parametrize(
    "name",
    [
        "shards/city-portraits-v2-000000.tar",
        "shards/other-v1-photos-000000.tar",
        "city-portraits-v2-photos-000000.tar",
    ],
)
def test_a_shard_of_no_series_of_the_bundle_is_refused(name):
    description = make_description(shards=(BundleFile(name, 10, "a" * 64),))

    with pytest.raises(ValueError, match="in no shard series of city-portraits-v2"):
        description.shard_series()


def test_a_description_needs_a_license_tier():
    with pytest.raises(ValueError, match="offered under no license tier"):
        make_description(licenses=())
