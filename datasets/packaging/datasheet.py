"""DATASHEET.md: the seven sections of Gebru et al., "Datasheets for Datasets", answered for one version.

Every figure comes from the description; distributions are tables sorted by count (ties by value) with
percentages, and self-identification appears only in groups of MIN_GROUP_SIZE or more. The same description
always gives the same bytes.
"""

from collections.abc import Mapping
from pathlib import Path

from datasets.packaging.croissant import (
    annotation_text,
    bias_texts,
    citation,
    collection_text,
    field_label,
    filters_text,
    limitation_texts,
    maintenance_text,
    preprocessing_texts,
    sensitive_texts,
    use_case_texts,
)
from datasets.packaging.description import (
    CAWG_USES,
    CROISSANT_NAME,
    MIN_GROUP_SIZE,
    DatasetDescription,
    by_count,
    counted,
    reportable_groups,
    share,
    tier_title,
    use_label,
)
from datasets.packaging.manifest import JSONL_NAME, PARQUET_NAME

SECTIONS = (
    "Motivation",
    "Composition",
    "Collection process",
    "Preprocessing, cleaning and labeling",
    "Uses",
    "Distribution",
    "Maintenance",
)


def datasheet_markdown(description: DatasetDescription) -> str:
    """DATASHEET.md's text."""
    parts = [
        f"# Datasheet: {description.title}, version {description.version}\n",
        f"`{description.bundle_name}`, published {description.published.isoformat()} by "
        f"{description.publisher_name}. Answers follow the questions of Gebru et al., "
        '"Datasheets for Datasets" (2021). The same facts, machine-readable, are in '
        f"{CROISSANT_NAME}.\n",
        _motivation(description),
        _composition(description),
        _collection(description),
        _preprocessing(description),
        _uses(description),
        _distribution(description),
        _maintenance(description),
    ]
    return "\n".join(parts)


def write_datasheet(description: DatasetDescription, path: Path) -> Path:
    path.write_bytes(datasheet_markdown(description).encode())
    return path


def _section(title: str, answers: list[tuple[str, str]]) -> str:
    body = "\n".join(f"**{question}**\n\n{answer.strip()}\n" for question, answer in answers)
    return f"## {SECTIONS.index(title) + 1}. {title}\n\n{body}"


def _table(heading: str, counts: Mapping[str, int], unit: str) -> str:
    """A distribution as a Markdown table, largest first, with each value's share of the total."""
    if not counts:
        return "None.\n"
    total = sum(counts.values())
    rows = [f"| {heading} | {unit} | share |", "| --- | ---: | ---: |"]
    rows += [f"| {_cell(value)} | {count} | {share(count, total)} |" for value, count in by_count(counts)]
    rows.append(f"| total | {total} | 100.0% |")
    return "\n".join(rows) + "\n"


def _cell(value: str) -> str:
    # A pipe or a line break would split the row.
    return value.replace("|", "\\|").replace("\n", " ")


def _use_order(use: str) -> tuple[int, str]:
    """The CAWG assertion's order, then any other use by name."""
    uses = list(CAWG_USES)
    return (uses.index(use), "") if use in uses else (len(uses), use)


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _motivation(description: DatasetDescription) -> str:
    uses = _bullets(list(description.intended_uses)) if description.intended_uses else "None stated."
    return _section(
        "Motivation",
        [
            (
                "For what purpose was the dataset created?",
                f"{description.description}\n\nIntended uses:\n\n{uses}",
            ),
            (
                "Who created the dataset, and on behalf of which entity?",
                f"{description.publisher_name} ({description.publisher_url}) curated it from media that "
                f"{counted(description.counts.creators, 'creator')} uploaded and consented to sell; category: "
                f"{description.category}.",
            ),
            (
                "Who funded the creation of the dataset?",
                f"{description.publisher_name}, from license sales; each creator is paid a share of every "
                "sale that includes their work.",
            ),
        ],
    )


def _composition(description: DatasetDescription) -> str:
    counts, distributions = description.counts, description.distributions
    consent_rows = ["| use | allowed | allowed with a constraint |", "| --- | ---: | ---: |"]
    consent_rows += [
        f"| {use_label(use)} | {count.allowed} ({share(count.allowed, counts.samples)}) | "
        f"{count.constrained} ({share(count.constrained, counts.samples)}) |"
        for use, count in sorted(description.consent.items(), key=lambda item: _use_order(item[0]))
    ]
    groups = reportable_groups(description)
    demographics = "".join(
        f"\n{field_label(field)}:\n\n{_table(field_label(field), values, 'people')}"
        for field, values in groups.items()
    )
    return _section(
        "Composition",
        [
            (
                "What do the instances that comprise the dataset represent?",
                "Photos and videos made by the site's creators, each with its manifest row: capture "
                "metadata, the creator's caption and tags, license and consent, releases, a pseudonymous "
                "creator id and quality signals.",
            ),
            (
                "How many instances are there in total?",
                f"{counts.samples} samples: {counts.images} photos and {counts.videos} videos, "
                f"{counts.total_bytes} bytes of media, from {counted(counts.creators, 'creator')}.\n\n"
                f"Category:\n\n{_table('category', distributions.categories, 'samples')}\n"
                f"Resolution class:\n\n{_table('resolution class', distributions.resolution_classes, 'samples')}\n"
                f"Video duration:\n\n{_table('duration', distributions.durations, 'videos')}\n"
                f"Capture year:\n\n{_table('year', distributions.capture_years, 'samples')}\n"
                f"Creator country:\n\n{_table('country', distributions.creator_countries, 'creators')}\n"
                "Digital source type, as each upload's C2PA manifest or XMP declares it (IPTC terms; "
                "digitalCapture where it declares none):\n\n"
                f"{_table('source type', distributions.source_types, 'samples')}",
            ),
            (
                "Does the dataset contain all possible instances or is it a sample?",
                "A selection: the samples of the site that match the curation filters "
                f"({filters_text(description.curation_filters)}) and whose consent covers every use of every license "
                "tier offered.",
            ),
            (
                "What data does each instance consist of? Is there a label or target?",
                f"A delivery rendition of the creator's media file and its manifest row ({PARQUET_NAME} and "
                f"{JSONL_NAME} hold the same rows). There is no target label: captions and tags are the creators' own descriptions.",
            ),
            (
                "Is any information missing from individual instances?",
                "Capture time is missing where the file's metadata has none; width and height where a file "
                "could not report them; duration and motion are for videos only; captions are optional.",
            ),
            (
                "Are relationships between individual instances made explicit?",
                "Samples by the same creator share a creator_id; samples covering the same person or property "
                "share a release id.",
            ),
            (
                "Are there recommended data splits?",
                "No. Keep each creator_id within one split, so that a model is not evaluated on the style, "
                "places and people it was trained on.",
            ),
            (
                "Are there any errors, sources of noise, or redundancies?",
                "\n".join(f"- {text}" for text in limitation_texts(description)),
            ),
            (
                "Which consent does each instance carry?",
                f"Samples consenting to each CAWG use, out of {counts.samples}:\n\n"
                + "\n".join(consent_rows)
                + "\n",
            ),
            (
                "Does the dataset identify any subpopulations?",
                "Only through optional self-identification by the people shown, aggregated; groups smaller "
                f"than {MIN_GROUP_SIZE} are not reported.\n"
                + (demographics or "\nNo group is large enough to report.\n"),
            ),
            (
                "Is it possible to identify individuals, and does the dataset contain sensitive data?",
                _bullets(sensitive_texts(description)),
            ),
        ],
    )


def _collection(description: DatasetDescription) -> str:
    timeframe = (
        f"Capture dates run from {description.capture_start.isoformat()} to {description.capture_end.isoformat()}; "
        f"the version was built on {description.created.isoformat()}."
        if description.capture_start and description.capture_end
        else f"No sample has a capture date; the version was built on {description.created.isoformat()}."
    )
    return _section(
        "Collection process",
        [
            ("How was the data associated with each instance acquired?", collection_text(description)),
            (
                "Who was involved in the data collection process, and how were they compensated?",
                "Creators uploaded their own work and are paid a share of every sale; staff reviewers verified "
                "releases and consent.",
            ),
            ("Over what timeframe was the data collected?", timeframe),
            (
                "Did the individuals in question consent, and can they revoke it?",
                "Yes. Every identifiable person signed a model release, and each creator consented per "
                "sample and per use. Creators can withdraw consent, and releases can be revoked, at any time; "
                "see Maintenance for what follows.",
            ),
        ],
    )


def _preprocessing(description: DatasetDescription) -> str:
    return _section(
        "Preprocessing, cleaning and labeling",
        [
            (
                "Was any preprocessing, cleaning or labeling of the data done?",
                _bullets(preprocessing_texts(description)),
            ),
            ("How were the annotations made?", annotation_text(description)),
            (
                "Was the raw data saved in addition to the preprocessed data?",
                "The bundle ships the raw data: each media file is the creator's original.",
            ),
        ],
    )


def _uses(description: DatasetDescription) -> str:
    return _section(
        "Uses",
        [
            ("What tasks may the dataset be used for, and what not?", _bullets(use_case_texts(description))),
            (
                "Is there anything about the composition that might impact future uses?",
                _bullets(bias_texts(description)),
            ),
        ],
    )


def _distribution(description: DatasetDescription) -> str:
    tiers = _bullets([f"{tier_title(tier)} ({tier.slug}): {tier.url}" for tier in description.licenses])
    rows = ["| file | bytes | sha256 |", "| --- | ---: | --- |"]
    rows += [
        f"| {file.name} | {file.size} | `{file.sha256}` |"
        for file in sorted((*description.manifests, *description.shards), key=lambda file: file.name)
    ]
    return _section(
        "Distribution",
        [
            (
                "How is the dataset distributed, and when?",
                f"As a signed bundle to licensees only, from {description.published.isoformat()}, through "
                f"{description.page_url}. The media are in WebDataset tar shards, photos and videos in "
                "separate series; SHA256SUMS lists every file and SHA256SUMS.sig is its Ed25519 signature by "
                "the site.\n\n" + "\n".join(rows) + "\n",
            ),
            (
                "Under what license or terms of use?",
                f"The version is offered under these license tiers, the full text of each in LICENSE.txt:\n\n"
                f"{tiers}\n\nEach licensee receives a signed license certificate naming the one tier that "
                "applies to them.",
            ),
            ("How should it be cited?", citation(description)),
        ],
    )


def _maintenance(description: DatasetDescription) -> str:
    return _section(
        "Maintenance",
        [
            (
                "Who maintains the dataset, how is it updated, and how are older versions handled?",
                maintenance_text(description),
            ),
        ],
    )
