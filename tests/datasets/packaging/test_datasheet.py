import dataclasses
import re

from datasets.packaging.datasheet import SECTIONS, datasheet_markdown, write_datasheet
from datasets.packaging.description import CAWG_USES, MIN_GROUP_SIZE
from licensing.models import Use
from licensing.selectors import K_ANONYMITY
from tests.datasets.packaging.test_croissant import SMALL_GROUPS, make_description


def _table_rows(text: str, heading: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header row starts with `heading`."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(f"| {heading} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_seven_sections_of_datasheets_for_datasets_appear_in_order():
    text = datasheet_markdown(make_description())
    headings = re.findall(r"^## \d\. (.+)$", text, flags=re.MULTILINE)

    assert headings == list(SECTIONS)
    assert headings == [
        "Motivation",
        "Composition",
        "Collection process",
        "Preprocessing, cleaning and labeling",
        "Uses",
        "Distribution",
        "Maintenance",
    ]


def test_the_counts_are_those_of_the_description():
    text = datasheet_markdown(make_description())

    assert "200 samples: 170 photos and 30 videos, 987654321 bytes of media, from 12 creators." in text
    assert "Capture dates run from 2019-06-01 to 2025-11-30" in text


def test_distributions_are_tables_sorted_by_count_with_percentages():
    text = datasheet_markdown(make_description())

    assert _table_rows(text, "category") == [
        ["portraits", "150", "75.0%"],
        ["fashion", "30", "15.0%"],
        ["street", "20", "10.0%"],
        ["total", "200", "100.0%"],
    ]
    assert _table_rows(text, "year")[:4] == [
        ["2024", "90", "45.0%"],
        ["2025", "70", "35.0%"],
        ["2019", "25", "12.5%"],
        ["unknown", "15", "7.5%"],
    ]
    assert _table_rows(text, "country") == [
        ["DE", "7", "58.3%"],
        ["BR", "3", "25.0%"],
        ["KE", "2", "16.7%"],
        ["total", "12", "100.0%"],
    ]
    assert _table_rows(text, "duration")[0] == ["under 10 s", "18", "60.0%"]
    assert _table_rows(text, "resolution class")[0] == ["high", "120", "60.0%"]


def test_equal_counts_are_ordered_by_value():
    description = make_description()
    tied = dataclasses.replace(description.distributions, categories={"b": 5, "c": 9, "a": 5})
    text = datasheet_markdown(make_description(distributions=tied))

    assert [row[0] for row in _table_rows(text, "category")] == ["c", "a", "b", "total"]


def test_consent_per_use_is_given_in_the_cawg_order_with_shares():
    text = datasheet_markdown(make_description())

    assert _table_rows(text, "use") == [
        ["Data mining", "200 (100.0%)", "0 (0.0%)"],
        ["AI inference", "190 (95.0%)", "10 (5.0%)"],
        ["AI training", "180 (90.0%)", "20 (10.0%)"],
        ["Generative AI training", "40 (20.0%)", "7 (3.5%)"],
    ]


def test_self_identification_is_reported_only_in_groups_of_5_or_more():
    text = datasheet_markdown(make_description())

    assert "groups smaller than 5 are not reported" in text
    assert _table_rows(text, "Gender") == [
        ["woman", "38", "55.9%"],
        ["man", "30", "44.1%"],
        ["total", "68", "100.0%"],
    ]
    assert _table_rows(text, "Ethnicity") == [["other groups", "6", "100.0%"], ["total", "6", "100.0%"]]
    for groups in SMALL_GROUPS.values():
        for value in groups:
            assert value not in text


def test_with_no_group_large_enough_no_demographics_are_shown():
    text = datasheet_markdown(make_description(self_identification={"gender": {"woman": 4, "man": 2}}))

    assert "No group is large enough to report." in text
    assert "woman" not in text


def test_the_same_description_gives_the_same_bytes_whatever_the_order_of_its_mappings(tmp_path):
    description = make_description()
    reordered = make_description(
        consent=dict(reversed(description.consent.items())),
        distributions=dataclasses.replace(
            description.distributions,
            capture_years=dict(reversed(description.distributions.capture_years.items())),
        ),
        self_identification={
            field: dict(reversed(values.items()))
            for field, values in reversed(description.self_identification.items())
        },
    )

    first = write_datasheet(description, tmp_path / "first.md").read_bytes()
    assert write_datasheet(reordered, tmp_path / "second.md").read_bytes() == first


def test_the_shards_and_manifests_are_listed_with_size_and_sha256():
    text = datasheet_markdown(make_description())

    assert "| shards/city-portraits-v2-photos-000000.tar | 1000000 | `" + "a" * 64 + "` |" in text
    assert "| shards/city-portraits-v2-videos-000000.tar | 3000000 | `" + "e" * 64 + "` |" in text
    assert "| manifest.parquet | 20000 | `" + "b" * 64 + "` |" in text


def test_the_uses_and_the_distribution_list_every_tier():
    text = datasheet_markdown(make_description())
    uses = text.split("## 5. Uses", 1)[1].split("## 6.", 1)[0]
    distribution = text.split("## 6. Distribution", 1)[1]

    assert "- Licensed under Research license, version 1: " in uses
    assert "- Licensed under Commercial generative license, version 3: " in uses
    assert (
        "- Research license, version 1 (research): https://datamarket.example/licenses/research/1/\n"
        "- Commercial generative license, version 3 (commercial-generative): "
        "https://datamarket.example/licenses/commercial-generative/3/\n" in distribution
    )
    assert "certificate naming the one tier that applies to them" in distribution


def test_the_group_threshold_and_the_use_names_match_the_licensing_app():
    assert MIN_GROUP_SIZE == K_ANONYMITY
    assert dict(Use.choices) == CAWG_USES
