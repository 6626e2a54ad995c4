import datetime as dt
import json
import math
import re

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasets.packaging.manifest import (
    JSON_BATCH_ROWS,
    JSONL_NAME,
    PARQUET_NAME,
    SCHEMA,
    license_terms_item,
    manifest_table,
    sample_json,
    write_manifest,
)
from tests.examples import examples

UTC = dt.UTC


def _columns(count: int) -> dict[str, list[object]]:
    """`count` rows with every kind of value the schema allows, missing ones included."""
    return {
        "key": [f"sample-{index:05d}" for index in range(count)],
        "sha256": [f"{index:064x}" for index in range(count)],
        "bytes": [1000 + index for index in range(count)],
        "media_type": ["video/mp4" if index % 3 == 0 else "image/jpeg" for index in range(count)],
        "rendition": ["remuxed" if index % 3 == 0 else "jpeg-as-uploaded" for index in range(count)],
        "source_media_type": [
            "video/quicktime" if index % 3 == 0 else "image/jpeg" for index in range(count)
        ],
        "content_credentials": ["c2pa"] * count,
        "digital_source_type": ["http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"] * count,
        "width": [4000 if index % 5 else None for index in range(count)],
        "height": [3000 if index % 5 else None for index in range(count)],
        "duration": [12.5 + index if index % 3 == 0 else None for index in range(count)],
        "capture_time": [
            dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
            + dt.timedelta(seconds=index, milliseconds=index % 1000)
            if index % 4
            else None
            for index in range(count)
        ],
        "tags": [["street", "night"][: index % 3] for index in range(count)],
        "caption": [
            'Caf\u00e9 "at" dusk\n\\ \u2014 \U0001f4f7' if index % 2 else None for index in range(count)
        ],
        "license_terms": [
            ["research/1", "commercial-generative/2"][: 1 + index % 2] for index in range(count)
        ],
        "consent_uses": [["ai_training", "data_mining"]] * count,
        "consent_constraints": [
            [{"use": "ai_generative_training", "text": "No likeness"}] if index % 7 == 0 else []
            for index in range(count)
        ],
        "consent_id": [f"consent-{index}" for index in range(count)],
        "release_ids": [[f"release-{index}"] if index % 2 else [] for index in range(count)],
        "creator_id": [f"c-{index % 11:03d}" for index in range(count)],
        "camera": [
            {
                "make": "Canon",
                "model": "EOS R6",
                "lens": None,
                "focal_length_mm": 50.0,
                "exposure_time_s": 0.004,
                "f_number": 1.8,
                "iso": 800,
            }
            if index % 3
            else None
            for index in range(count)
        ],
        "place": [{"latitude": 52.5, "longitude": 13.4} if index % 5 else None for index in range(count)],
        "blur": [0.1 * index for index in range(count)],
        "exposure": [128.0] * count,
        "resolution_class": ["12mp"] * count,
        "motion": [0.25 if index % 3 == 0 else None for index in range(count)],
        "face_count": [index % 4 for index in range(count)],
    }


def _as_json_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value


def test_parquet_and_jsonl_hold_the_same_rows_as_the_input(tmp_path):
    columns = _columns(40)

    parquet, jsonl = write_manifest(tmp_path, manifest_table(columns))

    assert (parquet.name, jsonl.name) == (PARQUET_NAME, JSONL_NAME)
    from_parquet = pq.read_table(parquet)
    assert from_parquet.schema.equals(SCHEMA)
    assert from_parquet.to_pydict() == columns
    rows = [json.loads(line) for line in jsonl.read_bytes().splitlines()]
    expected = [
        {name: _as_json_value(from_parquet.column(name)[index].as_py()) for name in SCHEMA.names}
        for index in range(len(rows))
    ]
    assert rows == expected


def test_each_sample_json_is_its_jsonl_line(tmp_path):
    table = manifest_table(_columns(JSON_BATCH_ROWS + 30))  # more than one batch of rows

    _, jsonl = write_manifest(tmp_path, table)

    lines = jsonl.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert list(sample_json(table)) == lines[:-1]


def test_sample_json_is_compact_utf8_in_schema_order():
    (line,) = sample_json(manifest_table({name: values[1:2] for name, values in _columns(2).items()}))

    assert b"\n" not in line
    assert b": " not in line and b", " not in line
    assert list(json.loads(line)) == SCHEMA.names
    assert "Caf\u00e9".encode() in line
    assert json.loads(line)["capture_time"] == "2024-05-01T12:00:01.001Z"


def test_capture_times_are_written_in_utc_and_a_naive_one_is_taken_as_utc():
    columns = _columns(2)
    columns["capture_time"] = [
        dt.datetime(2024, 5, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2024, 5, 1, 12, 30),
    ]

    rows = [json.loads(line) for line in sample_json(manifest_table(columns))]

    assert [row["capture_time"] for row in rows] == ["2024-05-01T12:30:00.000Z"] * 2


def test_a_missing_or_unknown_column_is_named():
    columns = _columns(1)
    del columns["caption"]
    columns["colour"] = ["red"]

    with pytest.raises(ValueError, match=r"missing \['caption'\], unknown \['colour'\]"):
        manifest_table(columns)


def test_columns_of_different_lengths_are_refused():
    columns = _columns(3)
    columns["blur"] = columns["blur"][:2]

    with pytest.raises(ValueError, match="differ in length"):
        manifest_table(columns)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("sha256", None, "'sha256' has 1 null"),
        ("tags", None, "'tags' has 1 null"),
        ("tags", ["a", None], r"'tags\[\]' has 1 null"),
        ("tags", "street", "'tags' must hold lists"),
        ("consent_constraints", [{"use": "ai_training"}], r"'consent_constraints\[\].text' has 1 null"),
        ("blur", math.nan, "'blur' holds NaN"),
        ("exposure", math.inf, "'exposure' holds NaN or an infinity"),
        ("width", "wide", "'width'"),
        ("face_count", 2**40, "'face_count'"),
    ],
)
def test_a_value_the_schema_or_json_cannot_hold_is_refused(name, value, message):
    columns = _columns(2)
    columns[name][1] = value

    with pytest.raises(ValueError, match=message):
        manifest_table(columns)


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ([], "must be licensable under some tier"),
        (["research"], "'research' is not '<terms slug>/<terms version>'"),
        (["research/0"], "'research/0' is not"),
        (["research/1", "research 1"], "'research 1' is not"),
        (["research/1", None], r"'license_terms\[\]' has 1 null"),
    ],
)
def test_license_terms_must_name_at_least_one_tier_as_slug_and_version(terms, message):
    columns = _columns(2)
    columns["license_terms"][1] = terms

    with pytest.raises(ValueError, match=message):
        manifest_table(columns)


def test_license_terms_item_names_a_tier_by_slug_and_terms_version():
    assert license_terms_item("commercial-generative", 3) == "commercial-generative/3"


@pytest.mark.parametrize("key", ["has.dot", "trailing-newline\n", "Upper", ""])
def test_an_invalid_sample_key_is_refused(key):
    columns = _columns(3)
    columns["key"][1] = key

    with pytest.raises(ValueError, match=f"sample key {re.escape(repr(key))}"):
        manifest_table(columns)


def test_repeated_keys_are_refused():
    columns = _columns(3)
    columns["key"][2] = columns["key"][0]

    with pytest.raises(ValueError, match="keys repeat"):
        manifest_table(columns)


@pytest.mark.parametrize(
    "caption",
    [
        'a "quoted" word',
        "back\\slash \\n not a newline",
        "line\nbreak\r\ntab\there",
        "bell\x07 vertical\x0b form\x0c escape\x1b nul\x00",
        "caf\u00e9 \u2028 \U0001f4f7 \u00a0",
        "",
    ],
)
def test_any_text_reads_back_from_the_json_unchanged(caption):
    columns = _columns(2)
    columns["caption"] = [caption, "plain"]
    columns["tags"] = [[caption, "x"], []]

    rows = [json.loads(line) for line in sample_json(manifest_table(columns))]

    assert rows[0]["caption"] == caption
    assert rows[0]["tags"] == [caption, "x"]
    assert rows[1]["caption"] == "plain"


@settings(max_examples=examples(60), deadline=None)
@given(
    texts=st.lists(st.text(), min_size=1, max_size=6),
    numbers=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=6),
)
def test_strings_and_floats_survive_the_json_text_exactly(texts, numbers):
    count = max(len(texts), len(numbers))
    columns = _columns(count)
    columns["caption"] = (texts * count)[:count]
    columns["release_ids"] = [texts] * count
    columns["blur"] = (numbers * count)[:count]

    rows = [json.loads(line) for line in sample_json(manifest_table(columns))]

    assert [row["caption"] for row in rows] == columns["caption"]
    assert [row["release_ids"] for row in rows] == columns["release_ids"]
    assert [row["blur"] for row in rows] == columns["blur"]
    assert all(isinstance(row["blur"], float) for row in rows)
