import dataclasses
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from datasets.packaging.croissant import (
    CONTEXT,
    RECORD_SET,
    croissant_jsonld,
    write_croissant,
)
from datasets.packaging.description import (
    CROISSANT_NAME,
    SHARDS_DIR,
    BundleFile,
    ConsentCount,
    Counts,
    DatasetDescription,
    Distributions,
    LicenseTier,
    Maintenance,
    PreviousVersion,
    Quality,
    shard_prefix,
)
from datasets.packaging.manifest import (
    JSONL_NAME,
    PARQUET_NAME,
    SCHEMA,
    manifest_table,
    sample_json,
    write_manifest,
)
from datasets.packaging.tar import ShardWriter

# The properties of the Croissant RAI 1.0 vocabulary (croissant_rai.ttl), spelled as it spells them.
RAI_1_0_PROPERTIES = {
    "dataCollection",
    "dataCollectionType",
    "dataCollectionMissingData",
    "dataCollectionRawData",
    "dataCollectionTimeframe",
    "dataPreprocessingProtocol",
    "dataImputationProtocol",
    "dataManipulationProtocol",
    "dataReleaseMaintenancePlan",
    "personalSensitiveInformation",
    "dataAnnotationProtocol",
    "dataAnnotationPlatform",
    "dataAnnotationAnalysis",
    "annotationsPerItem",
    "annotatorDemographics",
    "machineAnnotationTools",
    "dataSocialImpact",
    "dataBiases",
    "dataLimitations",
    "dataUseCases",
}
# Self-identification groups below the threshold: none of these values may appear in any document.
SMALL_GROUPS = {"gender": {"tinygroupvalue": 4}, "ethnicity": {"raregroupvalue": 1, "onlythreevalue": 3}}
TERMS_TEXT = (
    "RESEARCH LICENSE, VERSION 1\n\n1. Grant. Non-commercial research only.\n"
    "4. Withdrawal. Delete withdrawn samples within 30 days.\n"
)
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42 stands in for a video"
RESEARCH = LicenseTier(
    slug="research",
    name="Research license",
    version=1,
    text=TERMS_TEXT,
    url="https://datamarket.example/licenses/research/1/",
    uses=("data_mining", "ai_inference", "ai_training"),
    commercial=False,
    likeness_generation=False,
)
# A text without a final newline, as an admin may save one.
COMMERCIAL = LicenseTier(
    slug="commercial-generative",
    name="Commercial generative license",
    version=3,
    text="COMMERCIAL GENERATIVE LICENSE, VERSION 3\n\n1. Grant. Commercial use, generative training included.",
    url="https://datamarket.example/licenses/commercial-generative/3/",
    uses=("data_mining", "ai_inference", "ai_training", "ai_generative_training"),
    commercial=True,
    likeness_generation=True,
)


def make_description(**changes: object) -> DatasetDescription:
    """A description with every part filled, small self-identification groups included."""
    description = DatasetDescription(
        slug="city-portraits",
        title="City portraits",
        description="Portraits made outdoors in cities, with model releases for everyone shown.",
        version=2,
        created=dt.date(2026, 3, 2),
        published=dt.date(2026, 3, 4),
        publisher_name="Datamarket",
        publisher_url="https://datamarket.example",
        public_key_url="https://datamarket.example/.well-known/bundle-signing-key.pem",
        page_url="https://datamarket.example/datasets/city-portraits/v2/",
        licenses=(RESEARCH, COMMERCIAL),
        category="portraits",
        intended_uses=("Training and evaluating portrait segmentation models",),
        curation_filters=("category is portraits", "blur at least 100", "at least one face"),
        capture_start=dt.date(2019, 6, 1),
        capture_end=dt.date(2025, 11, 30),
        counts=Counts(samples=200, images=170, videos=30, creators=12, total_bytes=987_654_321),
        distributions=Distributions(
            categories={"portraits": 150, "fashion": 30, "street": 20},
            resolution_classes={"high": 120, "hd": 60, "very_high": 15, "low": 5},
            durations={"under 10 s": 18, "10-30 s": 12},
            capture_years={"2024": 90, "2025": 70, "2019": 25, "unknown": 15},
            creator_countries={"DE": 7, "BR": 3, "KE": 2},
            source_types={"digitalCapture": 198, "compositeCapture": 2},
        ),
        consent={
            "ai_training": ConsentCount(allowed=180, constrained=20),
            "data_mining": ConsentCount(allowed=200, constrained=0),
            "ai_inference": ConsentCount(allowed=190, constrained=10),
            "ai_generative_training": ConsentCount(allowed=40, constrained=7),
        },
        self_identification={
            "age_range": {"18-29": 40, "30-44": 25, "45-64": 9},
            "gender": {"woman": 38, "man": 30, **SMALL_GROUPS["gender"]},
            "ethnicity": {"other groups": 6, **SMALL_GROUPS["ethnicity"]},
        },
        quality=Quality(
            blur_percentiles={10: 120.5, 50: 310.25, 90: 900.0},
            exposure_percentiles={10: 70.0, 50: 118.5, 90: 180.0},
            face_counts={"0": 10, "1": 150, "2": 30, "3+": 10},
        ),
        shards=(
            BundleFile("shards/city-portraits-v2-photos-000000.tar", 1_000_000, "a" * 64),
            BundleFile("shards/city-portraits-v2-photos-000001.tar", 500_000, "d" * 64),
            BundleFile("shards/city-portraits-v2-videos-000000.tar", 3_000_000, "e" * 64),
        ),
        manifests=(
            BundleFile(PARQUET_NAME, 20_000, "b" * 64),
            BundleFile(JSONL_NAME, 90_000, "c" * 64),
        ),
        maintenance=Maintenance(
            contact="datasets@datamarket.example",
            revocation_feed_url="https://datamarket.example/api/revocations/",
            deletion_days=30,
        ),
        previous=PreviousVersion(
            version=1,
            url="https://datamarket.example/datasets/city-portraits/v1/",
            removed_samples=3,
            reason="consent withdrawn by their creators",
        ),
    )
    return dataclasses.replace(description, **changes)


def _jpeg(color: tuple[int, int, int]) -> bytes:
    stream = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(stream, "JPEG")
    return stream.getvalue()


def write_bundle(root: Path) -> tuple[DatasetDescription, pa.Table]:
    """A tiny real bundle in `root`: two photos and a video, each kind in its own shard series, the manifest,
    and the description of exactly those files."""
    media = {
        "p-0001": ("jpg", _jpeg((200, 30, 30))),
        "p-0002": ("jpg", _jpeg((30, 200, 30))),
        "v-0001": ("mp4", VIDEO_BYTES),
    }
    keys = list(media)
    table = manifest_table(
        {
            "key": keys,
            "sha256": [hashlib.sha256(media[key][1]).hexdigest() for key in keys],
            "bytes": [len(media[key][1]) for key in keys],
            "media_type": ["image/jpeg", "image/jpeg", "video/mp4"],
            "rendition": ["jpeg-as-uploaded", "jpeg-lossless-rotation", "remuxed"],
            "source_media_type": ["image/jpeg", "image/jpeg", "video/quicktime"],
            "content_credentials": ["c2pa"] * 3,
            "digital_source_type": ["http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"] * 3,
            "width": [32, 32, None],
            "height": [24, 24, None],
            "duration": [None, None, 4.5],
            "capture_time": [
                dt.datetime(2024, 5, 1, 12, 0, 5, tzinfo=dt.UTC),
                None,
                dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
            ],
            "tags": [["portrait", "street"], [], ["walk"]],
            "caption": ['A "red" wall', None, "Walking\nin the rain"],
            "license_terms": [["research/1", "commercial-generative/3"]] * 3,
            "consent_uses": [["ai_training", "data_mining"], ["ai_inference"], []],
            "consent_constraints": [[{"use": "ai_training", "text": "No faces cropped"}], [], []],
            "consent_id": ["k-1", "k-2", "k-3"],
            "release_ids": [["r-1"], [], ["r-2", "r-3"]],
            "creator_id": ["c-001", "c-002", "c-001"],
            "camera": [
                {"make": "Fujifilm", "model": "X-T5", "focal_length_mm": 33.0, "iso": 400},
                None,
                None,
            ],
            "place": [{"latitude": 48.86, "longitude": 2.35}, None, None],
            "blur": [300.5, 120.0, None],
            "exposure": [110.0, 140.25, 90.0],
            "resolution_class": ["low", "low", None],
            "motion": [None, None, 0.25],
            "face_count": [1, 0, 2],
        }
    )
    parquet, jsonl = write_manifest(root, table)
    (root / SHARDS_DIR).mkdir()
    metadata = dict(zip(keys, sample_json(table), strict=True))
    shards = []
    for series, extension in (("photos", "jpg"), ("videos", "mp4")):
        prefix = shard_prefix("city-portraits-v2", series)
        with ShardWriter(root / SHARDS_DIR, prefix, mtime=1_700_000_000, fsync=False) as writer:
            for key, (media_extension, data) in media.items():
                if media_extension == extension:
                    writer.write(key, io.BytesIO(data), extension=extension, metadata=metadata[key])
        shards += [
            BundleFile(f"{SHARDS_DIR}/{info.name}", info.size, info.sha256) for info in writer.finished
        ]
    files = [
        BundleFile(
            path.relative_to(root).as_posix(),
            path.stat().st_size,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in (parquet, jsonl)
    ]
    return make_description(manifests=tuple(files), shards=tuple(shards)), table


def _plain(value: object) -> object:
    """A value as mlcroissant yields it (fields named `<record set>/<field>`, text as bytes, times as pandas
    Timestamps) in the names and types pyarrow's to_pylist gives."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        if all(item is None for item in value.values()):
            return None  # mlcroissant yields a null struct (no camera, no place) as one of null fields
        return {name.rsplit("/", 1)[-1]: _plain(item) for name, item in value.items()}
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def test_mlcroissant_validates_the_document_with_no_errors_and_loads_the_manifest_rows(tmp_path):
    mlc = pytest.importorskip("mlcroissant")
    description, table = write_bundle(tmp_path)
    write_croissant(description, tmp_path / CROISSANT_NAME)

    dataset = mlc.Dataset(jsonld=tmp_path / CROISSANT_NAME)
    records = [_plain(record) for record in dataset.records(RECORD_SET)]

    assert dataset.metadata.ctx.issues.errors == set()
    assert dataset.metadata.ctx.issues.warnings == set()
    rows = pq.read_table(tmp_path / PARQUET_NAME).to_pylist()
    assert rows == table.to_pylist()
    assert records == rows


def test_every_manifest_column_is_a_field_of_the_samples_record_set_with_its_type():
    document = croissant_jsonld(make_description())
    record_set = document["recordSet"][0]
    fields = {field["name"]: field for field in record_set["field"]}
    expected = {
        "key": "sc:Text",
        "bytes": "sc:Integer",
        "width": "sc:Integer",
        "duration": "sc:Float",
        "capture_time": "sc:DateTime",
        "tags": "sc:Text",
        "license_terms": "sc:Text",
        "face_count": "sc:Integer",
    }

    assert list(fields) == SCHEMA.names
    assert record_set["key"] == {"@id": f"{RECORD_SET}/key"}
    assert {name: fields[name]["dataType"] for name in expected} == expected
    assert {name for name, field in fields.items() if field.get("repeated")} == {
        field.name for field in SCHEMA if pa.types.is_list(field.type)
    }
    assert all(field["source"]["fileObject"] == {"@id": PARQUET_NAME} for field in fields.values())
    assert [sub["name"] for sub in fields["consent_constraints"]["subField"]] == ["use", "text"]


def test_the_document_declares_croissant_1_0_and_rai_1_0_with_the_official_context():
    document = croissant_jsonld(make_description())

    assert document["@type"] == "sc:Dataset"
    assert document["conformsTo"] == [
        "http://mlcommons.org/croissant/1.0",
        "http://mlcommons.org/croissant/RAI/1.0",
    ]
    assert document["@context"] is CONTEXT
    assert CONTEXT["rai"] == "http://mlcommons.org/croissant/RAI/"
    assert CONTEXT["cr"] == "http://mlcommons.org/croissant/"
    assert CONTEXT["dataType"] == {"@id": "cr:dataType", "@type": "@vocab"}


def test_the_distribution_describes_the_manifests_and_every_shard_with_their_digests():
    description = make_description()
    distribution = {item["@id"]: item for item in croissant_jsonld(description)["distribution"]}
    photo_shards = [
        "shards/city-portraits-v2-photos-000000.tar",
        "shards/city-portraits-v2-photos-000001.tar",
    ]
    video_shard = "shards/city-portraits-v2-videos-000000.tar"

    assert list(distribution) == [
        PARQUET_NAME, JSONL_NAME, *photo_shards, "photos-files", video_shard, "videos-files",
    ]  # fmt: skip
    assert distribution[PARQUET_NAME]["sha256"] == "b" * 64
    assert distribution[PARQUET_NAME]["contentSize"] == "20000 B"
    assert distribution[JSONL_NAME]["encodingFormat"] == "application/jsonlines"
    assert distribution[photo_shards[1]] | {"description": ""} == {
        "@type": "cr:FileObject",
        "@id": photo_shards[1],
        "name": photo_shards[1],
        "description": "",
        "contentUrl": photo_shards[1],
        "contentSize": "500000 B",
        "encodingFormat": "application/x-tar",
        "sha256": "d" * 64,
    }


def test_each_shard_series_media_is_a_file_set_inside_its_shards_read_by_a_record_set():
    document = croissant_jsonld(make_description())
    distribution = {item["@id"]: item for item in document["distribution"]}
    record_sets = {record_set["@id"]: record_set for record_set in document["recordSet"]}

    photos = distribution["photos-files"]
    assert photos["@type"] == "cr:FileSet"
    assert photos["containedIn"] == [
        {"@id": "shards/city-portraits-v2-photos-000000.tar"},
        {"@id": "shards/city-portraits-v2-photos-000001.tar"},
    ]
    assert (photos["includes"], photos["encodingFormat"]) == ("*.jpg", "image/jpeg")
    assert photos["description"].startswith("The photos (JPEG) in 2 shard(s) (1500000 bytes)")
    assert distribution["videos-files"]["includes"] == "*.mp4"
    assert list(record_sets) == [RECORD_SET, "photos", "videos"]
    content = {field["name"]: field for field in record_sets["photos"]["field"]}["content"]
    assert content["dataType"] == "sc:ImageObject"
    assert content["source"] == {"fileSet": {"@id": "photos-files"}, "extract": {"fileProperty": "content"}}


def test_a_version_without_videos_has_no_videos_file_set():
    description = make_description(
        counts=Counts(samples=170, images=170, videos=0, creators=12, total_bytes=87_654_321),
        shards=make_description().shards[:2],
    )
    document = croissant_jsonld(description)

    assert not [item for item in document["distribution"] if "videos" in item["@id"]]
    assert [record_set["@id"] for record_set in document["recordSet"]] == [RECORD_SET, "photos"]


def test_the_license_is_the_url_of_every_tier_in_order():
    document = croissant_jsonld(make_description())

    assert document["license"] == [
        "https://datamarket.example/licenses/research/1/",
        "https://datamarket.example/licenses/commercial-generative/3/",
    ]
    assert {"Research license", "Commercial generative license"} <= set(document["keywords"])


def test_a_description_without_the_parquet_manifest_is_refused():
    with pytest.raises(ValueError, match=PARQUET_NAME):
        croissant_jsonld(make_description(manifests=(BundleFile(JSONL_NAME, 1, "c" * 64),)))


def test_every_rai_property_is_a_term_of_the_rai_1_0_vocabulary():
    document = croissant_jsonld(make_description())
    used = {key.removeprefix("rai:") for key in document if key.startswith("rai:")}

    # hasSyntheticData is the one deliberate addition beyond RAI 1.0 (see croissant.py).
    assert used - {"hasSyntheticData"} <= RAI_1_0_PROPERTIES
    assert {
        "dataCollection",
        "dataBiases",
        "dataLimitations",
        "dataUseCases",
        "personalSensitiveInformation",
    } <= used


def test_the_rai_properties_are_filled_from_the_description():
    document = croissant_jsonld(make_description())

    assert document["rai:dataCollectionTimeframe"] == ["2019-06-01", "2025-11-30"]
    assert "200 samples (170 photos, 30 videos)" in document["rai:dataCollection"]
    assert "12 creators" in document["rai:dataCollection"]
    # 150 of 200 samples are portraits; 7 of 12 creators are in DE.
    assert any("portraits: 150 of 200 samples (75.0%)" in text for text in document["rai:dataBiases"])
    assert any("DE: 7 of 12 creators (58.3%)" in text for text in document["rai:dataBiases"])
    assert any("p10 120.5, p50 310.25, p90 900" in text for text in document["rai:dataLimitations"])
    assert any("15 samples have no capture time" in text for text in document["rai:dataLimitations"])
    assert any(
        "190 of 200 samples show at least one detected face" in text
        for text in document["rai:personalSensitiveInformation"]
    )
    assert (
        "Intended use: Training and evaluating portrait segmentation models." in document["rai:dataUseCases"]
    )
    assert (
        "Research license, not permitted: Generative AI training (not licensed under this tier)."
        in (document["rai:dataUseCases"])
    )
    assert "within 30 days" in document["rai:dataReleaseMaintenancePlan"]
    assert "3 samples removed" in document["rai:dataReleaseMaintenancePlan"]
    assert document["rai:hasSyntheticData"] is False


@pytest.mark.parametrize(
    ("source_types", "synthetic"),
    [
        ({"digitalCapture": 199, "compositeCapture": 1}, False),
        ({"digitalCapture": 199, "compositeWithTrainedAlgorithmicMedia": 1}, True),
        ({"trainedAlgorithmicMedia": 200}, True),
        ({"digitalCapture": 200, "trainedAlgorithmicMedia": 0}, False),
    ],
)
def test_synthetic_data_is_what_the_samples_declare(source_types, synthetic):
    base = make_description()
    description = dataclasses.replace(
        base, distributions=dataclasses.replace(base.distributions, source_types=source_types)
    )

    assert croissant_jsonld(description)["rai:hasSyntheticData"] is synthetic


def test_the_use_cases_state_what_each_tier_permits_and_does_not():
    use_cases = croissant_jsonld(make_description())["rai:dataUseCases"]

    assert use_cases[1:3] == [
        "Licensed under Research license, version 1: Data mining, AI inference, AI training; non-commercial "
        "use only; no likeness generation.",
        "Research license, not permitted: Generative AI training (not licensed under this tier).",
    ]
    assert (
        "Licensed under Commercial generative license, version 3: Data mining, AI inference, AI training, "
        "Generative AI training; commercial use permitted; likeness generation permitted." in use_cases
    )
    assert (
        "Commercial generative license, not permitted: Anything else Commercial generative license, version 3 "
        "(LICENSE.txt) does not permit." in use_cases
    )
    assert not any(
        text.startswith("Commercial generative license, not permitted: Commercial") for text in use_cases
    )


def test_the_collection_and_social_impact_name_the_tiers():
    document = croissant_jsonld(make_description())

    assert (
        "every tier offered (Research license, Commercial generative license)"
        in document["rai:dataCollection"]
    )
    assert (
        "every license tier forbids identifying anyone shown; Research license also forbids generating their "
        "likeness," in document["rai:dataSocialImpact"]
    )


def test_self_identification_groups_smaller_than_5_never_appear():
    text = json.dumps(croissant_jsonld(make_description()))

    for groups in SMALL_GROUPS.values():
        for value in groups:
            assert value not in text
    assert "woman 38" in text
    assert "other groups 6" in text


def test_the_timeframe_is_left_out_when_no_sample_has_a_capture_date():
    document = croissant_jsonld(make_description(capture_start=None, capture_end=None))

    assert "rai:dataCollectionTimeframe" not in document


def test_the_same_description_gives_the_same_bytes(tmp_path):
    first = write_croissant(make_description(), tmp_path / "first.json").read_bytes()
    reordered = make_description(
        distributions=dataclasses.replace(
            make_description().distributions, categories={"street": 20, "fashion": 30, "portraits": 150}
        ),
        self_identification={
            field: dict(reversed(values.items()))
            for field, values in reversed(make_description().self_identification.items())
        },
    )
    second = write_croissant(reordered, tmp_path / "second.json").read_bytes()

    assert first == second
    assert first.endswith(b"}\n")
